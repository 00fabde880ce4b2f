"""The stored ledger conserves under any sequence of statements and corrections (both backends).

Arbitrary assessed inputs for two of the model city's agreements (a two-way one with shares and
a cap, a one-way one) over a few periods are recorded in turn through
:func:`bishui.compensation.service.record`, as late data would arrive; after every step the
postings sum to zero, every journal entry balances, and each party's balance equals the net of
the current versions' transfers.
"""

from __future__ import annotations

from decimal import Decimal

from comp_store import load_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bishui.compensation import IndicatorInput, PeriodInputs, PointInput, service
from bishui.compensation.period import Period
from bishui.store import Store

AGREEMENTS = ("jingmen-zhupihe-gongjiawan", "jingmen-tianmenhe-tuoshi")
POINT = {"jingmen-zhupihe-gongjiawan": "WS04", "jingmen-tianmenhe-tuoshi": "WS09"}
PERIODS = {
    "jingmen-zhupihe-gongjiawan": [Period(2026, "quarter", q) for q in (1, 2)],
    "jingmen-tianmenhe-tuoshi": [Period(2026, "month", m) for m in (1, 2)],
}

step = st.tuples(
    st.sampled_from(AGREEMENTS),
    st.integers(0, 1),
    st.decimals(min_value=5, max_value=90, places=1),  # COD mg/L
    st.decimals(min_value=Decimal("0.1"), max_value=4, places=2),  # NH3-N mg/L
    st.integers(1, 6),  # class
    st.integers(0, 3),  # count (0–1 triggers the missing-data rules)
)


def _check(store: Store) -> None:
    assert (
        store.query(
            "SELECT COUNT(*) AS n FROM (SELECT seq FROM compensation_posting GROUP BY seq "
            "HAVING SUM(amount_fen) <> 0) x"
        )[0]["n"]
        == 0
    )
    bal = service.balances(store)
    assert sum(bal.values(), Decimal(0)) == 0
    want: dict[str, Decimal] = {}
    for s in service.heads(store, Period.parse("2026")):
        for t in s.transfers:
            want[t.payee] = want.get(t.payee, Decimal(0)) + t.amount
            want[t.payer] = want.get(t.payer, Decimal(0)) - t.amount
    assert {k: v for k, v in bal.items() if v} == {k: v for k, v in want.items() if v}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=1, max_size=6))
def test_stored_ledger_conserves(store: Store, steps: list[tuple]) -> None:  # type: ignore[type-arg]
    # one store for all examples: the ledger keeps growing, and must conserve at every state
    if not store.count("regions"):
        load_registry(store)
    agreements = service.sync_agreements(store, by="test")
    for agr, pi, cod, nh3n, klass, count in steps:
        a = agreements[agr]
        period = PERIODS[agr][pi]
        point = PointInput(
            POINT[agr],
            {"w01018": IndicatorInput(cod, count), "w21003": IndicatorInput(nh3n, count)},
            water_class=klass,
        )
        item = service.record(store, a, PeriodInputs.of(period, point), by="test")
        assert item.action in ("new", "corrected", "unchanged")
        _check(store)

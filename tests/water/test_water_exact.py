"""Surface-water figures exact at the boundary (issue 12), against Fraction references."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui import exact
from bishui.water import tables as t
from bishui.water.classes import classify, classify_batch
from bishui.water.cwqi import cwqi, cwqi_items, delta_cwqi
from bishui.water.rounding import decimals_for


def test_main_pollutant_text_river_tp_0_215() -> None:
    r = classify({"w21011": 0.215})
    assert r.exceedance["w21011"] == 0.075
    assert r.main_pollutant_text() == "总磷(0.08)"


def test_main_pollutant_text_of_199_tp_values() -> None:
    tp = [Fraction(n, 1000) for n in range(201, 400)]  # 0.201 … 0.399 (Ⅳ, Ⅴ)
    assert len(tp) == 199
    for v in tp:
        m = (v - Fraction(2, 10)) / Fraction(2, 10)
        want = f"总磷({float(exact.round_half_even(m, 2)):g})"
        assert classify({"w21011": float(v)}).main_pollutant_text() == want, v


def test_ph_out_of_range_is_never_hidden_by_default() -> None:
    assert classify({"w01001": 9.4}).label == "劣Ⅴ类"
    assert classify({"w01001": 5.6}).label == "劣Ⅴ类"
    assert classify({"w01001": 9.0}).label == "Ⅰ类"
    assert decimals_for(["w01001"]).tolist() == [-1]
    # the one secondary source's 0-decimal rounding, as an explicit parameter
    assert classify({"w01001": 9.4}, decimals={"w01001": 0}).label == "Ⅰ类"


def test_cwqi_at_do_zero_is_not_inf() -> None:
    items = cwqi_items([[7.5, 0.0, 3.0]], ["w01001", "w01009", "w01019"])
    assert np.isnan(items[0, 1])
    out = cwqi([[7.5, 0.0, 3.0], [7.5, 5.0, 3.0]], ["w01001", "w01009", "w01019"])
    assert np.isnan(out[0]) and not np.isinf(out).any()
    assert out[1] == 0.25 + 1.0 + 0.5


def test_delta_cwqi_exact() -> None:
    assert delta_cwqi(1.09, 1.60) == -31.875


ITEMS = [c for c in t.ASSESSMENT_CODES if c not in (t.PH, t.DO)]
DEC = {c: int(decimals_for([c])[0]) for c in ITEMS}


@settings(max_examples=500, deadline=None)
@given(code=st.sampled_from(ITEMS), cls=st.integers(0, 4), off=st.integers(-25, 25),
       body=st.sampled_from(["river", "lake"]))  # fmt: skip
def test_class_and_multiple_near_every_limit_agree_with_fraction(
    code: str, cls: int, off: int, body: str
) -> None:
    """Values a few assessment units either side of each Table 1 limit and of the halves."""
    table = t.TABLE1_LAKE if body == "lake" else t.TABLE1_RIVER
    item = table.get(code)
    if item is None or not item.limits:
        return
    d = DEC[code]
    lim = exact.written(item.limits[cls])
    # on the limit, and on the rounding halves next to it (one more decimal)
    v = lim + Fraction(off, 2 * 10 ** (d + 1))
    if v < 0:
        return
    r = classify_batch(np.array([[float(v)]]), [code], body)
    shown = exact.round_half_even(v, d)
    if shown == 0 and v != 0:  # one significant digit is kept (总站水字〔2018〕87号)
        return
    assert r.values[0, 0] == float(shown)
    limits = [exact.written(x) for x in item.limits]
    want = next((i + 1 for i, x in enumerate(limits) if shown <= x), 6)
    assert int(r.item_class[0, 0]) == want
    lim3 = limits[2]
    if want > 3 and code not in t.NO_MULTIPLE_CODES:
        assert r.exceedance[0, 0] == float((shown - lim3) / lim3)


# --- through the service (both backends) ----------------------------------------------------

SECTIONS = [{"id": "S1", "name": "甲断面", "river": "甲河", "target_class": 3}]


def _section(store, month_rows):  # type: ignore[no-untyped-def]
    import datetime as dt

    from water_support import four_hourly, registry, write

    from bishui.water.service import assess

    registry(store, SECTIONS)
    rows = []
    for code, value in month_rows.items():
        for d in range(1, 4):
            rows += four_hourly("S1", code, dt.date(2026, 7, d), value)
    write(store, rows)
    a = assess(store, "2026-07", compare=False)
    return next(s for s in a.sections if s["section"] == "S1")


def test_service_main_pollutant_text_tp_0_215(store) -> None:  # type: ignore[no-untyped-def]
    s = _section(store, {"w21011": 0.215, "w21003": 0.3})
    assert s["label"] == "Ⅳ类"
    assert s["main_pollutants"] == "总磷(0.08)"


def test_service_ph_9_4_is_not_class_i(store) -> None:  # type: ignore[no-untyped-def]
    s = _section(store, {"w01001": 9.4, "w21003": 0.1})
    assert s["label"] == "劣Ⅴ类"


def test_service_ph_9_0_stays_within_the_range(store) -> None:  # type: ignore[no-untyped-def]
    s = _section(store, {"w01001": 9.0, "w21003": 0.1})
    assert s["label"] == "Ⅰ类"

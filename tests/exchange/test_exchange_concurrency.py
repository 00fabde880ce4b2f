"""Many clients transferring at once on PostgreSQL, each through its own store (its own
connection): no double spend, no lost update, no deadlock left unresolved.

Every registry write locks the log's head row first (``bishui.exchange.service``), so the
writers queue on one lock: no retries are needed and none are made — a thread that met a
storage error (a deadlock, a serialisation failure) fails the test.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from exreg_helpers import ALICE, BOB, OP, cod, setup

from bishui.app import open_store
from bishui.exchange import service
from bishui.exchange.checks import Refused
from bishui.exchange.registry import Issue, Select, Transfer, balances, integrity
from bishui.store import Store

THREADS = 8
ATTEMPTS = 20
UNITS = 7
ISSUED = 1000


def _clients(store: Store, n: int) -> list[Store]:
    schema = getattr(store, "schema", None)
    return [open_store(store.url, schema=schema, migrate=False) for _ in range(n)]


def _race(store: Store, plan: list[list[tuple[str, str, str]]]) -> dict[str, Any]:
    """Run each thread's list of (source, target, actor) transfers at once, each thread on its
    own store; count what committed and what was refused."""
    clients = _clients(store, len(plan))
    ok: dict[tuple[str, str], int] = {}
    refused, errors = [0], []
    lock = threading.Lock()
    start = threading.Barrier(len(plan))

    def work(client: Store, moves: list[tuple[str, str, str]]) -> None:
        start.wait()
        for src, dst, actor in moves:
            try:
                service.submit(
                    client, Transfer(src, dst, Select(cod().instrument, UNITS)), actor=actor
                )
                with lock:
                    ok[(src, dst)] = ok.get((src, dst), 0) + 1
            except Refused as exc:
                assert {r.code for r in exc.refusals} == {"insufficient_units"}, exc
                with lock:
                    refused[0] += 1
            except Exception as exc:  # a storage error, a deadlock: the test fails
                with lock:
                    errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(c, m)) for c, m in zip(clients, plan, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    alive = [t for t in threads if t.is_alive()]
    for c in clients:
        c.close()
    assert not alive, "a writer is still waiting: a deadlock was left unresolved"
    assert not errors, errors
    return {
        "ok": sum(ok.values()),
        "refused": refused[0],
        **{f"{a}>{b}": n for (a, b), n in ok.items()},
    }


def _ready(store: Store) -> None:
    setup(lambda req, actor: service.submit(store, req, actor=actor))
    service.submit(store, Issue("HA", cod(), ISSUED, "determination"), actor=OP)


def _check_invariants(store: Store) -> dict[tuple[Any, ...], int]:
    assert service.verify(store) is None
    stored = service.stored(store)
    assert integrity(stored) == []
    replayed = service.replayed(store)
    assert replayed.blocks == stored.blocks
    got = balances(stored)
    assert sum(got.values()) == ISSUED  # conservation
    return got


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_concurrent_transfers_from_one_account_never_overspend(store: Store) -> None:
    _ready(store)
    got = _race(store, [[("HA", "HB", ALICE)] * ATTEMPTS for _ in range(THREADS)])
    # exactly as many transfers commit as the holdings allow, whatever the interleaving
    assert got["ok"] == ISSUED // UNITS
    assert got["ok"] + got["refused"] == THREADS * ATTEMPTS
    bal = _check_invariants(store)
    key = ("emission_right", 2026, "w01018", "420800")
    assert bal[("HB", "held", *key)] == UNITS * (ISSUED // UNITS)
    assert bal[("HA", "held", *key)] == ISSUED % UNITS
    assert len(service.log_rows(store)) == 10 + got["ok"]


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_transfers_in_both_directions_at_once_do_not_deadlock(store: Store) -> None:
    _ready(store)
    service.submit(store, Transfer("HA", "HB", Select(cod().instrument, 500)), actor=ALICE)
    there = [("HA", "HB", ALICE), ("HB", "HA", BOB)]
    plan = [[there[(i + j) % 2] for j in range(ATTEMPTS)] for i in range(THREADS)]
    got = _race(store, plan)
    assert got["ok"] + got["refused"] == THREADS * ATTEMPTS
    bal = _check_invariants(store)
    key = ("emission_right", 2026, "w01018", "420800")
    # no lost update: the holdings are exactly what the committed transfers say
    net = UNITS * (got.get("HB>HA", 0) - got.get("HA>HB", 0))
    assert bal[("HA", "held", *key)] == 500 + net
    assert bal[("HB", "held", *key)] == 500 - net
    assert got["ok"] > THREADS * ATTEMPTS // 2

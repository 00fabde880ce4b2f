import datetime as dt
import json
from pathlib import Path

from bishui.demo import grid as demo_grid
from bishui.demo.cli import prepare
from bishui.store import Store

NOW = dt.datetime(2026, 3, 10, 12, 30)


def test_prepare_then_reuse_and_fill_the_gap(store: Store, tmp_path: Path) -> None:
    said: list[str] = []
    model, state = prepare(store, tmp_path, seed=7, days=40, now=NOW, echo=said.append)
    assert state["history_end"] == "2026-03-10T12:00:00"
    # the model city's sites and its grid sensors (issue 21, bishui.demo.grid)
    assert store.count("sites") == len(model.registry.sites) + len(demo_grid.build(model))
    first = store.count("measurement", "period = 'hour'")
    assert first > 100_000
    assert store.count("measurement", "period = 'day' AND valid")
    assert json.loads((tmp_path / "demo-state.json").read_text())["seed"] == 7
    assert (tmp_path / "synthetic-events.json").exists()
    assert store.count("compensation_statement") > 0

    # Run again at the same hour: nothing is generated again.
    said.clear()
    prepare(store, tmp_path, seed=99, days=40, now=NOW, echo=said.append)
    assert not any("Generating" in s for s in said)
    assert store.count("measurement", "period = 'hour'") == first

    # Three hours later: only the gap is written, with the first run's seed.
    model2, _ = prepare(
        store, tmp_path, seed=99, days=40, now=NOW + dt.timedelta(hours=3), echo=said.append
    )
    assert model2.seed == 7
    added = store.count("measurement", "period = 'hour'") - first
    assert 0 < added < 3 * len(model.registry.sites) * 10

"""Split from test_demo_prepare.py so that the demo's preparations, each a minute or more,
run on different workers (``--dist loadfile`` keeps a file on one worker; docs/benchmarks.md,
"The test suite's time")."""

import datetime as dt
from pathlib import Path

from bishui.demo.city import ModelCity
from bishui.demo.cli import prepare
from bishui.store import Store

NOW = dt.datetime(2026, 3, 10, 12, 30)


def test_a_fresh_demo_has_aqi_at_the_newest_complete_hour(store: Store, tmp_path: Path) -> None:
    """Issue 16 item 1: the demo's history ends with the newest complete hour, so the
    real-time report has AQI from the first minute; hours that end while it prepares are
    filled before the loggers start (``top_up``). Each preparation step is logged with counts."""
    from bishui.air import service
    from bishui.demo.cli import top_up

    said: list[str] = []
    prepare(store, tmp_path, seed=7, days=2, now=NOW, echo=said.append)
    for step in ("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"):
        assert any(s.startswith(step) for s in said), (step, said)
    assert any("history 1/1:" in s and "hourly values" in s for s in said)
    assert any(s.strip().endswith("s)") and "daily values" in s for s in said)
    rt = service.realtime(store, now=NOW)
    assert rt.hour == dt.datetime(2026, 3, 10, 12)  # 11:00–12:00, the newest complete hour
    city = next(r for r in rt.rows if r.scope == "city")
    assert city.report.aqi is not None and city.stations == 6
    stations = [r for r in rt.rows if r.scope == "station"]
    assert sum(r.report.aqi is not None for r in stations) >= 8  # a few synthetic gaps at most

    # the first start took until 14:05: two more hours ended meanwhile, and are written
    model = city_model(tmp_path)
    later = dt.datetime(2026, 3, 10, 14, 5)
    assert top_up(store, model, tmp_path, now=later, echo=said.append) == 2
    assert top_up(store, model, tmp_path, now=later, echo=said.append) == 0
    rt = service.realtime(store, now=later)
    assert rt.hour == dt.datetime(2026, 3, 10, 14)
    assert next(r for r in rt.rows if r.scope == "city").report.aqi is not None


def city_model(data_dir: Path) -> ModelCity:
    from bishui.demo.city import build
    from bishui.demo.cli import _with_device_passwords

    return _with_device_passwords(build(7), data_dir)

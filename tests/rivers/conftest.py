"""A store per backend for the module: the model city's registry and river chiefs (cheap: no
history), the demo's two patrols, and accounts of a chief and a volunteer (tests/rivers)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bishui.demo import city
from bishui.demo import rivers as demo_rivers
from bishui.registry import apply
from bishui.store import Store
from bishui.timeutil import now_beijing

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest_rivers", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)

ACCOUNTS = {"river_chief": "hg.chief", "volunteer": "zh.volunteer"}


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def rstore(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, Any]]]:
    store, _, _ = root.make_store(str(request.param), tmp_path_factory.mktemp("rivers"))
    try:
        apply(store, city.build().registry)
        now = now_beijing().replace(microsecond=0) - dt.timedelta(minutes=5)
        got = demo_rivers.setup(store, now, ACCOUNTS)
        yield store, got
    finally:
        root.drop_store(store)

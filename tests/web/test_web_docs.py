"""docs/web.md and docs/api.md stay true: the settings table, the runnable example, every path."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from bishui.web.settings import settings_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_settings_table_is_current() -> None:
    assert settings_table() in (DOCS / "web.md").read_text(encoding="utf-8")


def test_first_example_runs() -> None:
    text = (DOCS / "web.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block
    exec(compile(block.group(1), "docs/web.md", "exec"), {})


async def test_every_api_path_is_documented(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = [p for p in spec["paths"] if p not in text]
    assert not missing, missing


def test_roles_table_names_every_role() -> None:
    from bishui.web.accounts import ROLES

    text = (DOCS / "web.md").read_text(encoding="utf-8")
    for role, (zh, _) in ROLES.items():
        assert f"| `{role}` {zh} |" in text, role

"""Helpers of the web tests (imported by tests/web/conftest.py and the test modules).

The root ``tests/conftest.py`` is loaded here under its own module name: inside ``tests/web``
the name ``conftest`` means this directory's conftest.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path
from typing import Any

import httpx

from bishui.demo import city, history
from bishui.registry import apply
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web import accounts

_spec = importlib.util.spec_from_file_location(
    "bishui_tests_root_conftest", Path(__file__).resolve().parents[1] / "conftest.py"
)
assert _spec and _spec.loader
root = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root)
make_store, drop_store = root.make_store, root.drop_store

PASSWORD = "correct horse battery"
COUNTY = "420822"  # 沙洋县


def load_city(store: Store, hours: int = 6) -> dict[str, dict[str, Any]]:
    """Load the model city and *hours* of history ending now; make one user per role."""
    from bishui.web import schema

    schema.ensure(store)
    model = city.build()
    apply(store, model.registry)
    now = now_beijing().replace(minute=0, second=0, microsecond=0)
    history.generate(store, model, now - dt.timedelta(hours=hours), now + dt.timedelta(hours=1))
    ent = store.query(
        "SELECT enterprise FROM sites WHERE kind LIKE 'source%' AND region = ? ORDER BY id LIMIT 1",
        [COUNTY],
    )[0]["enterprise"]
    users: dict[str, dict[str, Any]] = {}
    for role in accounts.ACCOUNT_ROLES:
        kw: dict[str, Any] = {}
        if role == "county":
            kw["region"] = COUNTY
        if role == "enterprise":
            kw["enterprise"] = ent
        accounts.add_user(store, f"demo.{role}", PASSWORD, role, **kw)
        users[role] = {"username": f"demo.{role}", "password": PASSWORD, **kw}
    return users


def client_for(app: Any, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, **kw), base_url="http://testserver", timeout=30
    )


async def csrf_of(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path, headers={"Accept": "text/html"})
    m = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert m, page.text[:500]
    return m.group(1)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    token = await csrf_of(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        headers={"Accept": "text/html"},
    )

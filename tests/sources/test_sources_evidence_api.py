"""Evidence files through the API on both backends (``bishui.web.api.evidence``): upload as the
raw body, list, download byte for byte; who may do which on whose task; the size limit of the
one route allowed a large body (413 in the one error shape) and no other; the checks of type,
signature and name; transitions citing files by id; CSRF on a browser session's upload."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sources_store import GAS_A, GAS_B, USCC_A, USCC_B, gas_day, make_permit, registry

from bishui.enforcement import service as enf
from bishui.sources import permit_store, service
from bishui.store import Store
from bishui.web import Settings, accounts, create_app

_HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "bishui_evidence_files", _HERE.parent / "enforcement" / "evidence_files.py"
)
assert _spec and _spec.loader
files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(files)

PASSWORD = "correct horse battery"
D0 = dt.date(2026, 6, 29)
LIMIT = 4096  # max_evidence_bytes in these tests (the default is 10 MiB)
WHO = ("admin", "analyst", "inspector", "county", "enterprise", "ent_b", "public")


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def api_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str], str]]:
    spec = importlib.util.spec_from_file_location(
        "root_conftest_evidence", Path(__file__).resolve().parents[1] / "conftest.py"
    )
    assert spec and spec.loader
    rc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rc)
    store, _, _ = rc.make_store(str(request.param), tmp_path_factory.mktemp("evapi"))
    try:
        registry(store)
        permit_store.record_permits(store, [make_permit()])
        so2 = [120.0] * 24
        so2[10:13] = [260.0, 300.0, 250.0]
        gas_day(store, GAS_A, D0, so2)
        gas_day(store, GAS_B, D0, 80.0)
        r = service.run_checks(store, dt.datetime(2026, 6, 29), dt.datetime(2026, 6, 30))
        task_a = next(t for t in r.tasks if enf.get_task(store, t)[0].uscc == USCC_A)
        tokens: dict[str, str] = {}
        for who in WHO[:-1]:
            role = "enterprise" if who == "ent_b" else who
            kw: dict[str, Any] = {}
            if role == "county":
                kw["region"] = "420822"  # B's county; A is in 东宝区 420802
            if role == "enterprise":
                kw["enterprise"] = USCC_B if who == "ent_b" else USCC_A
            accounts.add_user(store, f"e.{who}", PASSWORD, role, **kw)
            tokens[who] = accounts.new_token(store, f"e.{who}", "test")[1]
        yield store, tokens, task_a
    finally:
        rc.drop_store(store)


@pytest.fixture
async def client(api_store: tuple[Store, dict[str, str], str]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(api_store[0], Settings(secret="", max_evidence_bytes=LIMIT))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=30
    ) as c:
        yield c


def _h(tokens: dict[str, str], who: str, **extra: str) -> dict[str, str]:
    h = {"Accept": "application/json", **extra}
    if who in tokens:
        h["Authorization"] = f"Bearer {tokens[who]}"
    return h


async def _upload(
    client: httpx.AsyncClient,
    tokens: dict[str, str],
    who: str,
    task: str,
    name: str,
    media_type: str,
    content: Any,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/tasks/{task}/files",
        params={"name": name},
        content=content,
        headers=_h(tokens, who, **{"Content-Type": media_type}),
    )


async def test_upload_list_download(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, task = api_store
    photo = files.png(seed=3)
    r = await _upload(client, tokens, "inspector", task, "现场 照片.png", "image/png", photo)
    assert r.status_code == 201, r.text
    rec = r.json()["file"]
    assert r.json()["created"] is True
    assert (rec["name"], rec["media_type"], rec["size"], rec["sha256"], rec["uploaded_by"]) == (
        "现场 照片.png",
        "image/png",
        len(photo),
        hashlib.sha256(photo).hexdigest(),
        "e.inspector",
    )
    again = await _upload(client, tokens, "admin", task, "again.png", "image/png", photo)
    assert again.status_code == 200 and again.json() == {"ok": True, "created": False, "file": rec}
    listed = await client.get(f"/api/v1/tasks/{task}/files", headers=_h(tokens, "analyst"))
    assert listed.status_code == 200
    assert [(f["id"], f["cited"]) for f in listed.json()["items"]][:1] == [(rec["id"], False)]
    assert listed.headers["cache-control"] == "private, no-store"
    # the inspectors' evidence is not the enterprise's to read (issue 14; it used to be)
    url = f"/api/v1/tasks/{task}/files/{rec['id']}"
    assert (await client.get(url, headers=_h(tokens, "enterprise"))).status_code == 404
    got = await client.get(url, headers=_h(tokens, "analyst"))
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith('attachment; filename="__ __.png"')
    assert "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "private, no-store"
    assert "sandbox" in got.headers["content-security-policy"]
    digest = hashlib.sha256(photo).digest()
    import base64

    assert got.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    missing = await client.get(
        f"/api/v1/tasks/{task}/files/{'0' * 32}", headers=_h(tokens, "analyst")
    )
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_roles_and_scope(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, task = api_store
    pdf = files.pdf("scope")
    up = [
        (await _upload(client, tokens, who, task, "r.pdf", "application/pdf", pdf)).status_code
        for who in WHO
    ]
    # admin creates, the inspector and the enterprise find the same bytes; analyst and county
    # read only; enterprise B and the public never reach A's task
    assert up == [201, 403, 200, 403, 200, 404, 401]
    fid = (await client.get(f"/api/v1/tasks/{task}/files", headers=_h(tokens, "admin"))).json()[
        "items"
    ][-1]["id"]
    # the enterprise lists the task's files, but the admin's file is not among them and is
    # 404 to it (issue 14: the inspectors' evidence is their working file)
    for path, ent in ((f"/api/v1/tasks/{task}/files", 200),
                      (f"/api/v1/tasks/{task}/files/{fid}", 404)):  # fmt: skip
        got = [(await client.get(path, headers=_h(tokens, who))).status_code for who in WHO]
        assert got == [200, 200, 200, 404, ent, 404, 401], path
        r = await client.get(path, headers=_h(tokens, "public"))
        assert r.json()["error"] == "unauthenticated"


async def test_limits_and_checks(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    _, tokens, task = api_store
    big = files.png() + b"\0" * LIMIT
    r = await _upload(client, tokens, "inspector", task, "big.png", "image/png", big)
    assert r.status_code == 413
    assert r.json()["ok"] is False and r.json()["error"] == "too_large"

    async def chunks() -> Any:
        yield files.png()
        for _ in range(10):
            yield b"\0" * 1000

    r = await _upload(client, tokens, "inspector", task, "big.png", "image/png", chunks())
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert r.json()["field"] == "body"
    cases = [
        ("empty.png", "image/png", b"", "content"),
        ("page.html", "text/html", b"<html></html>", "media_type"),
        ("nothing", "", b"data", "media_type"),
        ("fake.png", "image/png", files.pdf(), "content"),
        ("../x.png", "image/png", files.png(), "name"),
        ("photo.pdf", "image/png", files.png(), "name"),
    ]
    for name, mt, content, field in cases:
        r = await _upload(client, tokens, "inspector", task, name, mt, content)
        assert r.status_code == 400, (name, r.text)
        body = r.json()
        assert (body["ok"], body["error"], body["field"]) == (False, "invalid_input", field), name
    r = await client.post(
        f"/api/v1/tasks/{task}/files",
        content=files.png(),
        headers=_h(tokens, "inspector", **{"Content-Type": "image/png"}),
    )
    assert r.status_code == 422 and r.json()["field"] == "query.name"
    # the larger limit is the upload's alone: the same size is refused on other routes
    r = await client.post(
        f"/api/v1/tasks/{task}/visit",
        content=b"{" + b" " * 70_000 + b"}",
        headers=_h(tokens, "inspector", **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 413
    app = create_app(api_store[0], Settings(secret=""))  # default: 10 MiB per file
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as c:
        r = await _upload(
            c,
            tokens,
            "inspector",
            task,
            "scan.pdf",
            "application/pdf",
            files.pdf("x" * 50) + b"%" + b"x" * 100_000,
        )
        assert r.status_code == 201, r.text
        r = await c.post(
            "/api/v1/users",
            content=b"x" * 100_000,
            headers=_h(tokens, "admin", **{"Content-Type": "application/json"}),
        )
        assert r.status_code == 413


async def test_transitions_cite_files_by_id(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    store, tokens, task = api_store

    async def act(who: str, action: str, body: dict[str, Any]) -> httpx.Response:
        return await client.post(
            f"/api/v1/tasks/{task}/{action}", json=body, headers=_h(tokens, who)
        )

    jpeg = files.JPEG_HEAD + b"evidence photo"
    rec = (await _upload(client, tokens, "inspector", task, "dcs", "image/jpeg", jpeg)).json()[
        "file"
    ]
    assert rec["name"] == "dcs.jpg"
    assert (await act("inspector", "visit", {"note": "现场检查"})).status_code == 200
    r = await act("inspector", "add_evidence", {"files": ["现场照片1.jpg"]})
    assert r.status_code == 400 and r.json()["field"] == "files"
    r = await act("inspector", "add_evidence", {"files": ["0" * 32]})
    assert r.status_code == 400 and r.json()["value"] == "0" * 32
    r = await act("inspector", "add_evidence", {"files": [rec["id"]], "note": "DCS 画面"})
    assert r.status_code == 200, r.text
    events = (await client.get(f"/api/v1/tasks/{task}", headers=_h(tokens, "analyst"))).json()[
        "events"
    ]
    cited = events[-1]["payload"]["files"]
    assert cited == [
        {
            "id": rec["id"],
            "name": "dcs.jpg",
            "media_type": "image/jpeg",
            "size": len(jpeg),
            "sha256": hashlib.sha256(jpeg).hexdigest(),
        }
    ]
    listed = (await client.get(f"/api/v1/tasks/{task}/files", headers=_h(tokens, "analyst"))).json()
    assert {f["id"]: f["cited"] for f in listed["items"]}[rec["id"]] is True
    assert enf.verify_audit(store) > 0
    snapshot, _ = enf.get_task(store, task)
    assert enf.replay_task(store, task).as_dict() == snapshot.as_dict()


async def test_a_session_upload_needs_the_csrf_header(
    client: httpx.AsyncClient, api_store: tuple[Store, dict[str, str], str]
) -> None:
    import re

    _, _, task = api_store
    page = await client.get("/login", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert token
    r = await client.post(
        "/login",
        headers={"Accept": "text/html"},
        data={
            "username": "e.enterprise",
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/",
        },
    )
    assert r.status_code == 303
    page = await client.get("/tasks", headers={"Accept": "text/html"})
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert csrf
    url = f"/api/v1/tasks/{task}/files"
    jpeg = files.JPEG_HEAD + b"session upload"
    h = {"Content-Type": "image/jpeg", "Accept": "application/json"}
    r = await client.post(url, params={"name": "a.jpg"}, content=jpeg, headers=h)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = await client.post(
        url, params={"name": "a.jpg"}, content=jpeg, headers={**h, "X-CSRF-Token": csrf.group(1)}
    )
    assert r.status_code == 201 and r.json()["file"]["uploader_role"] == "enterprise"


def test_the_limit_is_a_setting() -> None:
    from bishui.errors import ConfigError
    from bishui.web.settings import from_env

    assert Settings().max_evidence_bytes == 10 * 1024 * 1024
    assert from_env({"BISHUI_WEB_MAX_EVIDENCE_BYTES": "2048"}).max_evidence_bytes == 2048
    for bad in (0, 2 * 1024**3):
        with pytest.raises(ConfigError, match="max_evidence_bytes"):
            Settings(max_evidence_bytes=bad)

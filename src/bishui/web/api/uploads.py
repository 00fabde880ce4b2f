"""Uploading manual and laboratory monitoring data from the browser (the CLI's ``bishui import``).

``POST /uploads?name=<file name>&commit=false|true`` — the request body is the file itself
(CSV or Excel, the columns of :mod:`bishui.ingest.upload`; no multipart: one file per request,
so the body limit is the file limit, the setting ``max_upload_bytes``). The file is checked by
the same code as ``bishui import`` (:func:`bishui.ingest.upload.check`), every row, and the row
errors are collected (up to :data:`MAX_ERRORS`):

* ``commit=false`` (the preview) stores nothing and answers the row count, the first rows and
  the errors;
* ``commit=true`` stores the whole file in one transaction when no row has an error
  (:func:`bishui.ingest.upload.store_rows`; the raw log keeps the file and its uploader) — and
  nothing at all otherwise: 422 ``invalid_input`` with every row error (row, field, rule and
  value, the field and rule also in Chinese).

Who may upload: administrators and analysts (any registered site), and an enterprise for its
own outlets only (a row naming another site is "not a registered site" for it). Every commit,
stored or refused, is recorded in ``data_uploads`` (who, when, file, outcome).
``GET /uploads`` lists that record (an enterprise sees its own uploads).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bishui.errors import InputError
from bishui.ingest import upload
from bishui.registry import devices
from bishui.store import Store
from bishui.timeutil import now_beijing
from bishui.web.api.common import ERRORS, WebStore, iso
from bishui.web.auth import Principal, requires
from bishui.web.errors import error_body

router = APIRouter(tags=["uploads"], responses=ERRORS)

#: Roles that may upload data files (an enterprise: its own sites).
UPLOADERS = ("admin", "analyst", "enterprise")
#: Row errors reported at most (the file is refused at the first one all the same).
MAX_ERRORS = 200
#: Rows shown in the preview.
PREVIEW_ROWS = 20
MAX_NAME = 200

_UPLOAD_BODY = {
    "required": True,
    "description": "the file's bytes (.csv in UTF-8 or GB 18030, or .xlsx)",
    "content": {
        mt: {"schema": {"type": "string", "format": "binary"}}
        for mt in (
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/octet-stream",
        )
    },
}


class UploadAnswer(BaseModel):
    ok: bool = True
    committed: bool = Field(description="true: the rows were stored")
    name: str
    source: str = Field(description="the file's id: upload:<first 16 hex digits of SHA-256>")
    rows: int = Field(description="data rows that passed")
    duplicate_of_previous: bool = False
    errors: list[dict[str, Any]] = Field(
        description="row errors: row, field, field_zh, rule, rule_zh, value (preview only; a "
        "commit with errors is refused with 422 and the same list)"
    )
    truncated: bool = Field(description="more row errors than were listed")
    preview: list[dict[str, Any]] = Field(description=f"the first {PREVIEW_ROWS} rows that passed")


def _devices_for(store: Store, p: Principal) -> dict[str, Any]:
    by_mn = devices(store)
    if p.role == "enterprise":
        own = {
            r["id"]
            for r in store.query("SELECT id FROM sites WHERE enterprise = ?", [p.enterprise or ""])
        }
        by_mn = {mn: d for mn, d in by_mn.items() if d.site_id in own}
    return {d.site_id: d for d in by_mn.values()}


def _log(
    store: Store, p: Principal, name: str, size: int, source: str | None, rows: int,
    outcome: str, errors: int,
) -> None:  # fmt: skip
    store.execute(
        "INSERT INTO data_uploads (uploaded_at, username, role, filename, source, bytes, "
        "rows_stored, outcome, errors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [now_beijing(), p.username or p.role, p.role, name, source, size, rows, outcome, errors],
    )


def _process(
    store: Store, p: Principal, name: str, data: bytes, commit: bool, limit: int
) -> tuple[int, dict[str, Any]]:
    now = now_beijing().replace(microsecond=0)
    try:
        checked = upload.check(
            data, name, _devices_for(store, p), now=now, max_errors=MAX_ERRORS, max_bytes=limit
        )
    except InputError:
        if commit:
            _log(store, p, name, len(data), None, 0, "refused", 1)
        raise
    errors = [e.as_dict() for e in checked.errors]
    if not commit:
        preview = [
            {"site": r[0], "parameter": r[1], "period": r[2], "time": iso(r[3]), "value": r[5],
             "flag": r[9]}
            for r in checked.rows[:PREVIEW_ROWS]
        ]  # fmt: skip
        return 200, {
            "ok": True, "committed": False, "name": name, "source": checked.source,
            "rows": len(checked.rows), "errors": errors, "truncated": checked.truncated,
            "preview": preview,
        }  # fmt: skip
    if errors:
        _log(store, p, name, len(data), checked.source, 0, "refused", len(errors))
        first = checked.errors[0]
        body = error_body(
            "invalid_input",
            f"the file has {len(errors)}{'+' if checked.truncated else ''} row error(s); "
            f"nothing was stored. First: {first.message}",
            field=first.field, rule=first.rule, value=first.as_dict()["value"],
            errors=errors, truncated=checked.truncated,
        )  # fmt: skip
        return 422, body
    result = upload.store_rows(
        store, data, name, checked.rows, checked.source, now=now, uploader=p.username
    )
    _log(
        store, p, name, len(data), result.source, result.rows,
        "duplicate" if result.duplicate_of_previous else "stored", 0,
    )  # fmt: skip
    return 201, {
        "ok": True, "committed": True, "name": name, "source": result.source,
        "rows": result.rows, "duplicate_of_previous": result.duplicate_of_previous,
        "errors": [], "truncated": False, "preview": [],
    }  # fmt: skip


@router.post(
    "/uploads",
    response_model=UploadAnswer,
    status_code=201,
    summary="Upload a CSV / Excel file of manual or laboratory values (all rows, or none)",
    description="The body is the file. `commit=false` checks it and stores nothing (200); "
    "`commit=true` stores every row (201) or, if any row breaks a rule, nothing (422 with "
    "`errors`). A browser session sends its CSRF header.",
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload_file(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*UPLOADERS, scope="scoped")],
    name: Annotated[
        str,
        Query(min_length=5, max_length=MAX_NAME, pattern=r"(?i)^[^/\\\x00]+\.(csv|xlsx|xlsm)$",
              description="the file's name (.csv, .xlsx)"),
    ],
    commit: bool = False,
) -> Any:  # fmt: skip
    data = await request.body()
    limit = request.app.state.web.settings.max_upload_bytes
    status, body = await run_in_threadpool(_process, store, p, name, data, commit, limit)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/uploads", summary="The data files uploaded, newest first (who, when, outcome)")
def upload_log(
    store: WebStore,
    p: Annotated[Principal, requires(*UPLOADERS, scope="scoped")],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    where, params = ("", [])
    if p.role == "enterprise":
        where, params = "WHERE username = ?", [p.username]
    rows = store.query(
        "SELECT uploaded_at, username, role, filename, source, bytes, rows_stored, outcome, errors "  # noqa: S608
        f"FROM data_uploads {where} ORDER BY uploaded_at DESC LIMIT ?",
        [*params, limit],
    )
    for r in rows:
        if isinstance(r["uploaded_at"], dt.datetime):
            r["uploaded_at"] = iso(r["uploaded_at"])
    return {"ok": True, "items": rows}

"""Evidence files of enforcement tasks: upload, list, download (``bishui.enforcement.evidence``).

* ``POST /tasks/{task_id}/files?name=…`` — the request body is the file itself, its
  ``Content-Type`` the file's media type (no multipart: one file per request, so the body limit
  is the file limit). Up to the setting ``max_evidence_bytes`` (10 MiB): the only route allowed
  a body over ``max_body_bytes`` (``bishui.web.app.WebMiddleware``). Roles as for the
  transitions that cite files: inspector, admin (as the supervisor), and an enterprise on its
  own tasks; a browser session sends its CSRF header as for every JSON write. 201 with the
  stored record, or 200 with the existing one when the task already has these bytes.
* ``GET /tasks/{task_id}/files`` — the task's files (who can see the task; an enterprise only
  the files it uploaded, ``bishui.web.api.task_views``).
* ``GET /tasks/{task_id}/files/{file_id}`` — the bytes, as an attachment with their media type,
  ``nosniff``, a sandboxing CSP, ``Repr-Digest`` (the SHA-256) and ``no-store``.

Who can see a task is ``bishui.web.api.sources`` (a county its region's, an enterprise its
own, an inspector the team's and its own); a task out of sight is 404 before the body is read.
This router is mounted before the sources router: ``/tasks/{task_id}/files`` would otherwise
be taken for the transition ``/tasks/{task_id}/{action}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import NotFoundError
from bishui.web.api.common import ERRORS, EvidenceLimit, WebStore
from bishui.web.api.sources import ACTORS, READERS, TASK_ID
from bishui.web.api.task_views import file_visible, visible_task
from bishui.web.auth import Principal, requires

router = APIRouter(tags=["sources"], responses=ERRORS)

FILE_ID = r"^[0-9a-f]{32}$"

_FILE_EXAMPLE = {
    "id": "5f0c3e1b9a7d4c2e8f6a1b3c5d7e9f01",
    "task_id": "T20261122-0001",
    "name": "现场照片1.jpg",
    "media_type": "image/jpeg",
    "size": 482113,
    "sha256": "9f2c" + "0" * 60,
    "uploaded_by": "zhang.inspector",
    "uploader_role": "inspector",
    "uploaded_at": "2026-11-22T10:31:07",
    "audit_seq": 1207,
}


class EvidenceStored(BaseModel):
    ok: bool = True
    created: bool = Field(description="false: the task already had these bytes (this record)")
    file: dict[str, Any] = Field(description="the stored record", examples=[_FILE_EXAMPLE])


class EvidenceList(BaseModel):
    ok: bool = True
    task_id: str
    items: list[dict[str, Any]] = Field(
        description="the task's files in upload order; cited: whether a transition cites it",
        examples=[[{**_FILE_EXAMPLE, "cited": True}]],
    )


_UPLOAD_BODY = {
    "required": True,
    "description": "the file's bytes; Content-Type is its media type",
    "content": {mt: {"schema": {"type": "string", "format": "binary"}}
                for mt in evidence.MEDIA_TYPES},
}  # fmt: skip


def _actor(p: Principal) -> tk.Actor:
    return tk.Actor(p.username or p.role, enf.TASK_ROLES[p.role], p.enterprise or "")


@router.post(
    "/tasks/{task_id}/files", response_model=EvidenceStored, status_code=201,
    summary="Upload one evidence file to a task (raw body, Content-Type its media type)",
    openapi_extra={"requestBody": _UPLOAD_BODY},
)  # fmt: skip
async def upload_evidence(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*ACTORS, scope="scoped")],
    response: Response,
    task_id: Annotated[str, Path(pattern=TASK_ID)],
    name: Annotated[
        str, Query(min_length=1, max_length=evidence.MAX_NAME, description="the file's name")
    ],
    limit: EvidenceLimit,
) -> dict[str, Any]:
    # Who may see the task is settled before the body is read (up to max_evidence_bytes).
    await run_in_threadpool(visible_task, store, p, task_id)
    content = await request.body()
    media_type = request.headers.get("content-type", "")
    rec, created = await run_in_threadpool(
        evidence.store_file, store, task_id, name, media_type, content, _actor(p),
        max_bytes=limit,
    )  # fmt: skip
    out = rec.as_dict()
    if not created:
        response.status_code = 200
        if not file_visible(rec, p):  # the bytes are the enterprise's; the uploader is not
            out["uploaded_by"] = None
    return {"ok": True, "created": created, "file": out}


@router.get("/tasks/{task_id}/files", response_model=EvidenceList,
            summary="A task's evidence files (without their bytes)")  # fmt: skip
def list_evidence(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    task_id: Annotated[str, Path(pattern=TASK_ID)],
) -> dict[str, Any]:
    t = visible_task(store, p, task_id)
    cited = {
        f.get("id")
        for rec in (*t.visits, *t.evidence, *t.rectifications)
        for f in rec.get("files") or ()
        if isinstance(f, dict)
    }
    items = [{**f.as_dict(), "cited": f.id in cited}
             for f in evidence.list_files(store, task_id)
             if file_visible(f, p)]  # fmt: skip
    response.headers["Cache-Control"] = "private, no-store"
    return {"ok": True, "task_id": task_id, "items": items}


@router.get(
    "/tasks/{task_id}/files/{file_id}", response_class=Response,
    summary="Download one evidence file (attachment, its media type)",
    responses={200: {"description": "the file's bytes",
                     "content": {mt: {} for mt in evidence.MEDIA_TYPES}}},
)  # fmt: skip
def download_evidence(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    task_id: Annotated[str, Path(pattern=TASK_ID)],
    file_id: Annotated[str, Path(pattern=FILE_ID)],
) -> Response:
    visible_task(store, p, task_id)
    rec, content = evidence.read_file(store, task_id, file_id)
    if not file_visible(rec, p):  # the inspectors' evidence: as if it did not exist
        raise NotFoundError(f"file {file_id} of task {task_id} does not exist")
    return Response(
        content,
        media_type=rec.media_type,
        headers={
            "Content-Disposition": evidence.content_disposition(rec.name),
            "X-Content-Type-Options": "nosniff",
            # opened in a tab anyway, the file runs no script and reaches nothing
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "Vary": "Cookie, Authorization",
            "Repr-Digest": evidence.repr_digest(rec.sha256),
        },
    )

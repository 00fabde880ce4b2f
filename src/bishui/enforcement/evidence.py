"""Evidence files of enforcement tasks: the bytes, checked and hashed, in the store.

Issue 6: "the task records site visits, evidence (files), the disposal … The enterprise … can
submit rectification evidence." An inspector (or the supervisor) uploads photos, scans and
documents of a site visit; an enterprise uploads its rectification report. Each upload is
checked before anything is written:

* its size: not empty, at most ``max_bytes`` (default :data:`MAX_BYTES`, 10 MiB — a phone
  photo or a scanned report; the web setting ``max_evidence_bytes`` passes its own);
* its declared media type: one of :data:`MEDIA_TYPES` (JPEG, PNG, WebP, PDF, MP4);
* its first bytes: the signature of that type (:func:`sniff`), so a renamed executable or
  HTML page is refused whatever it claims to be;
* its name: a plain file name (:func:`clean_name`; no path, no control characters), whose
  extension, if any, is one of the type's.

A stored file is ``enforcement_evidence`` row: id, task, name, media type, size, SHA-256, who
uploaded it (user and task role) and when (Beijing time, naive), and the bytes. Its id is
derived from the task and the SHA-256, so the same bytes uploaded twice to a task are one file.
The upload itself is an audit event (subject ``evidence:<id>``, action ``upload``) chained with
every other; the transitions that cite files (``visit``, ``add_evidence``,
``submit_rectification``) name them by id, and :func:`refs` replaces each id with the file's
record ``{id, name, media_type, size, sha256}`` before the task machine sees it — so the
task's audit event carries each file's SHA-256, and :func:`read_file` refuses bytes that no
longer hash to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bishui.enforcement import tasks as tk
from bishui.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    StorageError,
    TooLarge,
)
from bishui.store import Store, Transaction

MAX_BYTES = 10 * 1024 * 1024
"""Default size limit of one file [bytes]."""
MAX_FILES_PER_TASK = 200
"""At most this many files on one task (bounds what one account can store)."""
MAX_NAME = 255
"""Longest file name accepted [characters] (the common file-system limit)."""
MAX_REFS = 50
"""At most this many files cited by one transition."""

FILE_ID = tk.FILE_ID


def _jpeg(b: bytes) -> bool:
    # ISO/IEC 10918-1 Annex B: a JPEG stream starts with SOI (FFD8) followed by a marker (FF…).
    return b[:3] == b"\xff\xd8\xff"


def _png(b: bytes) -> bool:
    # ISO/IEC 15948 (PNG) §5.2: the eight-byte signature.
    return b[:8] == b"\x89PNG\r\n\x1a\n"


def _webp(b: bytes) -> bool:
    # RFC 9649 §2: a RIFF container whose form type is "WEBP".
    return b[:4] == b"RIFF" and b[8:12] == b"WEBP"


def _pdf(b: bytes) -> bool:
    # ISO 32000-1:2008 §7.5.2: the first line is the header "%PDF-1.n" (or "%PDF-2.0").
    return b[:5] == b"%PDF-"


def _mp4(b: bytes) -> bool:
    # ISO/IEC 14496-12 §4.3: an MP4 file begins with its FileTypeBox ("ftyp") — the box size
    # (4 bytes, at least 16 with the major and one compatible brand), then the type.
    return len(b) >= 16 and b[4:8] == b"ftyp" and int.from_bytes(b[:4], "big") >= 16


#: Media types accepted as evidence → (file extensions, signature check). Photos from a phone
#: or camera (JPEG; PNG and WebP for screenshots of a DCS or a web page), documents as PDF, a
#: short clip from a body camera as MP4. Office documents are refused: they carry macros and
#: render differently everywhere; a report is evidence as its PDF.
MEDIA_TYPES: dict[str, tuple[tuple[str, ...], Callable[[bytes], bool]]] = {
    "image/jpeg": ((".jpg", ".jpeg"), _jpeg),
    "image/png": ((".png",), _png),
    "image/webp": ((".webp",), _webp),
    "application/pdf": ((".pdf",), _pdf),
    "video/mp4": ((".mp4",), _mp4),
}

#: File extension → media type (the CLI reads files from disk and declares their type so).
EXTENSIONS = {ext: mt for mt, (exts, _) in MEDIA_TYPES.items() for ext in exts}

#: Task roles that may upload (those whose transitions cite files), on tasks they may act on.
UPLOADERS = (
    tk.PERMISSIONS[tk.Action.ADD_EVIDENCE]
    | tk.PERMISSIONS[tk.Action.VISIT]
    | tk.PERMISSIONS[tk.Action.SUBMIT_RECTIFICATION]
)

#: Transitions whose ``files`` name uploaded files.
FILE_ACTIONS = frozenset({tk.Action.VISIT, tk.Action.ADD_EVIDENCE, tk.Action.SUBMIT_RECTIFICATION})

_COLS = ("id", "task_id", "name", "media_type", "size", "sha256", "uploaded_by", "uploader_role",
         "uploaded_at", "audit_seq")  # fmt: skip
# Characters some file systems reserve: replaced, so a downloaded file saves anywhere.
_RESERVED = re.compile(r'[<>:"|?*]')
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EvidenceFile:
    """One stored file, without its bytes."""

    id: str
    task_id: str
    name: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploader_role: str
    uploaded_at: dt.datetime
    audit_seq: int  # the upload's event in the audit log

    def as_dict(self) -> dict[str, Any]:
        d = {c: getattr(self, c) for c in _COLS}
        d["uploaded_at"] = self.uploaded_at.isoformat()
        return d

    def ref(self) -> dict[str, Any]:
        """What a transition's audit event records of the file."""
        return {"id": self.id, "name": self.name, "media_type": self.media_type,
                "size": self.size, "sha256": self.sha256}  # fmt: skip


def media_type_of(declared: str) -> str:
    """The declared media type, without parameters, if accepted; else :class:`InputError`."""
    mt = declared.split(";", 1)[0].strip().lower()
    if mt not in MEDIA_TYPES:
        raise InputError("media_type", "one of " + ", ".join(MEDIA_TYPES), declared[:100])
    return mt


def sniff(content: bytes, media_type: str) -> bool:
    """Whether *content* begins with the signature of *media_type* (one of MEDIA_TYPES)."""
    return MEDIA_TYPES[media_type][1](content)


def clean_name(name: str, media_type: str | None = None) -> str:
    """A stored file name from what the uploader sent, or :class:`InputError`.

    Refused: empty; longer than :data:`MAX_NAME`; a path (``/`` or ``\\``), ``.``/``..`` or a
    leading dot; control, format (e.g. U+202E, which can disguise ``gpj.exe`` as ``exe.jpg``),
    surrogate, private-use or unassigned characters. Then: NFC-normalised, runs of white space
    made one space, the characters ``<>:"|?*`` made ``_``. With *media_type*: an extension
    that is not the type's is refused, a missing one is added.
    """
    if not isinstance(name, str):
        raise InputError("name", "a file name (text)", repr(name)[:100])
    if len(name) > MAX_NAME:
        raise InputError("name", f"at most {MAX_NAME} characters", name[:100] + "…")
    n = unicodedata.normalize("NFC", name)
    # before white space is collapsed: a newline or tab in a name is refused, not repaired
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in n):
        raise InputError("name", "no control, format or unassigned characters", name)
    n = _SPACE.sub(" ", n).strip()
    if not n:
        raise InputError("name", "a non-empty file name", name)
    if "/" in n or "\\" in n or n.startswith("."):
        raise InputError("name", "a plain file name: no path, no leading dot", name)
    n = _RESERVED.sub("_", n)
    if media_type is not None:
        exts = MEDIA_TYPES[media_type][0]
        stem, dot, ext = n.rpartition(".")
        if not dot or not stem or " " in ext or len(ext) > 5:
            n = n + exts[0]  # no extension (or no plausible one): the type's
        elif "." + ext.lower() not in exts:
            raise InputError("name", f"an extension of {media_type}: {', '.join(exts)}", name)
        if len(n) > MAX_NAME:
            raise InputError("name", f"at most {MAX_NAME} characters", name[:100] + "…")
    return n


def check_upload(
    name: str, media_type: str, content: bytes, max_bytes: int = MAX_BYTES
) -> tuple[str, str]:
    """Validate an upload before anything is stored: (clean name, media type).

    Raises :class:`~bishui.errors.TooLarge` over *max_bytes* and :class:`InputError` for an
    empty file, a type not accepted, bytes that are not of the declared type, or a bad name.
    """
    if len(content) > max_bytes:
        raise TooLarge("content", f"at most {max_bytes} bytes", len(content))
    if not content:
        raise InputError("content", "a non-empty file", 0)
    mt = media_type_of(media_type)
    if not sniff(content, mt):
        raise InputError("content", f"bytes of the declared type {mt} (file signature)",
                         content[:8].hex())  # fmt: skip
    return clean_name(name, mt), mt


def file_id(task_id: str, sha256: str) -> str:
    """The id of a task's file: derived from the task and the content, so an upload repeats."""
    return hashlib.sha256(f"{task_id}\n{sha256}".encode()).hexdigest()[:32]


def _record(row: Iterable[Any]) -> EvidenceFile:
    r = dict(zip(_COLS, row, strict=True))
    return EvidenceFile(**{**r, "size": int(r["size"]), "audit_seq": int(r["audit_seq"])})


def store_file(
    store: Store, task_id: str, name: str, media_type: str, content: bytes, actor: tk.Actor, *,
    now: dt.datetime | None = None, max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES_PER_TASK,
) -> tuple[EvidenceFile, bool]:  # fmt: skip
    """Check and store one file of a task; ``(record, created)``.

    The same bytes already on the task return that file (``created`` False; nothing written).
    An enterprise uploads only to its own tasks, nobody to a closed one (reopen it first).
    The upload and its audit event are one transaction.
    """
    from bishui.enforcement import service as enf

    clean, mt = check_upload(name, media_type, content, max_bytes)
    if actor.role not in UPLOADERS:
        raise PermissionDenied(f"task {task_id}: role {actor.role} may not upload evidence")
    digest = hashlib.sha256(content).hexdigest()
    fid = file_id(task_id, digest)
    at = enf._now(now)
    with store.transaction() as tx:
        found = tx.fetch("SELECT uscc, state FROM enforcement_task WHERE id = ?", [task_id])
        if not found:
            raise NotFoundError(f"task {task_id} does not exist")
        uscc, state = found[0]
        if actor.role is tk.Role.ENTERPRISE and actor.uscc != uscc:
            raise PermissionDenied(f"task {task_id}: not a task of enterprise {actor.uscc}")
        if state == tk.State.CLOSED:
            raise ConflictError(f"task {task_id} is closed: reopen it before adding evidence")
        cols = ", ".join(_COLS)
        same = tx.fetch(f"SELECT {cols} FROM enforcement_evidence WHERE id = ?", [fid])  # noqa: S608
        if same:
            return _record(same[0]), False
        n = int(
            tx.fetch("SELECT COUNT(*) FROM enforcement_evidence WHERE task_id = ?", [task_id])[0][0]
        )
        if n >= max_files:
            raise InputError("files", f"at most {max_files} files on one task", n + 1)
        log = enf._TailLog(enf._last_event(tx))
        event = log.append(at, actor.id, actor.role, f"evidence:{fid}", "upload", "", "stored",
                           {"task": task_id, "id": fid, "name": clean, "media_type": mt,
                            "size": len(content), "sha256": digest})  # fmt: skip
        rec = EvidenceFile(fid, task_id, clean, mt, len(content), digest, actor.id,
                           str(actor.role), at, event.seq)  # fmt: skip
        enf._write_events(tx, log.new)
        tx.execute(
            f"INSERT INTO enforcement_evidence ({cols}, content) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*(getattr(rec, c) for c in _COLS), content],
        )
    return rec, True


def list_files(store: Store, task_id: str) -> list[EvidenceFile]:
    """A task's files (without their bytes), in the order they were uploaded."""
    rows = store.query(
        f"SELECT {', '.join(_COLS)} FROM enforcement_evidence WHERE task_id = ? "  # noqa: S608
        "ORDER BY audit_seq",
        [task_id],
    )
    return [_record(r.values()) for r in rows]


def read_file(store: Store, task_id: str, fid: str) -> tuple[EvidenceFile, bytes]:
    """One file of a task and its bytes, which must still hash to the recorded SHA-256."""
    rows = store.query(
        f"SELECT {', '.join(_COLS)}, content FROM enforcement_evidence "  # noqa: S608
        "WHERE task_id = ? AND id = ?",
        [task_id, fid],
    )
    if not rows:
        raise NotFoundError(f"file {fid} of task {task_id} does not exist")
    row = rows[0]
    content = bytes(row.pop("content"))
    rec = _record(row.values())
    if hashlib.sha256(content).hexdigest() != rec.sha256:
        # The row was edited outside bishui: never hand out bytes that are not the evidence.
        raise StorageError(f"file {fid} of task {task_id}: stored bytes do not match its SHA-256")
    return rec, content


def refs(tx: Transaction, task_id: str, files: Any) -> list[dict[str, Any]]:
    """The records of the files a transition cites (ids, or records carrying an ``id``).

    Inside the transition's transaction (*tx*). A cited file that is not an uploaded file of
    *task_id* is refused (:class:`InputError` on ``files`` naming the id): a name, another
    task's file or a made-up id. Whatever else a record carries is replaced by the stored one.
    """
    if not isinstance(files, list | tuple):
        raise InputError("files", "a list of file ids", repr(files)[:100])
    if len(files) > MAX_REFS:
        raise InputError("files", f"at most {MAX_REFS} files in one action", len(files))
    ids: list[str] = []
    for f in files:
        fid = f.get("id") if isinstance(f, Mapping) else f
        if not isinstance(fid, str) or not FILE_ID.match(fid):
            raise InputError("files", f"ids of files uploaded to task {task_id} "
                             f"(POST /api/v1/tasks/{task_id}/files)", str(fid)[:100])  # fmt: skip
        if fid not in ids:
            ids.append(fid)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    stored = tx.fetch(
        f"SELECT {', '.join(_COLS)} FROM enforcement_evidence "  # noqa: S608
        f"WHERE task_id = ? AND id IN ({marks})",
        [task_id, *ids],
    )
    found = {r.id: r for r in map(_record, stored)}
    for fid in ids:
        if fid not in found:
            raise InputError("files", f"ids of files uploaded to task {task_id}", fid)
    return [found[fid].ref() for fid in ids]


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 §4.3, RFC 8187)."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                         for c in name)  # fmt: skip
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def repr_digest(sha256: str) -> str:
    """The ``Repr-Digest`` header value of a file (RFC 9530 §3): its SHA-256, base64."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(sha256)).decode() + ":"

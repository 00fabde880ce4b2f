"""Evidence files on both backends: stored and read back byte for byte, checked before anything
is written (size, type, signature, name), cited by transitions only as uploaded files of the
task, and recorded with their SHA-256 in the hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterator

import pytest
from evidence_files import JPEG_HEAD, pdf, png
from hypothesis import given
from hypothesis import strategies as st

from bishui.enforcement import evidence as ev
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
    StorageError,
    TooLarge,
)
from bishui.sources import findings as fd
from bishui.sources.findings import OutletRef
from bishui.sources.rules import load_ruleset
from bishui.store import Store

T0 = dt.datetime(2026, 3, 2, 9, 0)
SITE_A, SITE_B = "91130200699229617X001", "914403001922038216001"
INSP = tk.Actor("insp-1", tk.Role.INSPECTOR)
SUP = tk.Actor("sup-1", tk.Role.SUPERVISOR)
ENT_A = tk.Actor("ent-a", tk.Role.ENTERPRISE, SITE_A[:18])
ENT_B = tk.Actor("ent-b", tk.Role.ENTERPRISE, SITE_B[:18])


@pytest.fixture
def tasks(store: Store) -> Iterator[tuple[Store, str, str]]:
    """Two tasks (enterprises A and B), assigned to a team, in the store."""
    rules = load_ruleset()
    found = [fd.make(rules["EXC"], rules.version, OutletRef(site, "DA001"), "a21026",
                     T0.replace(hour=10), T0.replace(hour=12), {"peak": 260.0})
             for site in (SITE_A, SITE_B)]  # fmt: skip
    _, opened = enf.raise_alerts(store, found, {SITE_A: "420802", SITE_B: "420822"}, now=T0)
    by = {t.uscc: t.id for t in opened}
    yield store, by[SITE_A[:18]], by[SITE_B[:18]]


def test_store_list_and_read_back(tasks: tuple[Store, str, str]) -> None:
    store, a, _ = tasks
    content = png(seed=7)
    rec, created = ev.store_file(store, a, "现场照片 1.png", "image/png", content, INSP)
    assert created and rec.size == len(content)
    assert rec.sha256 == hashlib.sha256(content).hexdigest()
    assert (rec.task_id, rec.name, rec.media_type, rec.uploaded_by, rec.uploader_role) == (
        a,
        "现场照片 1.png",
        "image/png",
        "insp-1",
        "inspector",
    )
    back, data = ev.read_file(store, a, rec.id)
    assert data == content and back == rec
    # the same bytes again are the same file; nothing new is written
    again, created = ev.store_file(store, a, "copy.png", "image/png", content, SUP)
    assert not created and again == rec
    doc, _ = ev.store_file(store, a, "report", "application/pdf; charset=binary", pdf(), INSP)
    assert doc.name == "report.pdf" and doc.media_type == "application/pdf"
    assert [f.id for f in ev.list_files(store, a)] == [rec.id, doc.id]  # upload order
    # every upload is an audit event with the file's SHA-256, in the one chain
    up = enf.audit_events(store, f"evidence:{rec.id}")
    assert [(e.action, e.payload["sha256"], e.payload["task"]) for e in up] == [
        ("upload", rec.sha256, a)
    ]
    assert enf.verify_audit(store) >= 5
    with pytest.raises(NotFoundError):
        ev.read_file(store, "T20990101-0001", rec.id)


def test_transitions_cite_uploaded_files_with_their_sha256(tasks: tuple[Store, str, str]) -> None:
    store, a, b = tasks
    photo, _ = ev.store_file(store, a, "p.jpg", "image/jpeg", JPEG_HEAD + b"a" * 100, INSP)
    other, _ = ev.store_file(store, b, "q.jpg", "image/jpeg", JPEG_HEAD + b"b" * 100, INSP)
    enf.transition(store, a, "visit", INSP, note="现场检查")
    for bad in (["p.jpg"], [other.id], ["0" * 32], "p.jpg", [{"name": "p.jpg"}]):
        with pytest.raises(InputError) as ei:
            enf.transition(store, a, "add_evidence", INSP, files=bad)
        assert ei.value.field == "files"
    # a penalty needs recorded evidence; none is recorded yet
    penalty = tk.penalty_payload("排污许可管理条例 第三十四条", "200000")
    with pytest.raises(tk.TransitionRefused, match="evidence"):
        enf.transition(store, a, "dispose", INSP, **penalty)
    with pytest.raises(tk.TransitionRefused, match="at least one"):
        enf.transition(store, a, "add_evidence", INSP, files=[])
    # a record sent back by a client counts by its id only: the stored SHA-256 is recorded
    forged = {**photo.ref(), "sha256": "f" * 64}
    t, event = enf.transition(store, a, "add_evidence", INSP, files=[forged, photo.id],
                              note="DCS 画面")  # fmt: skip
    assert event.payload["files"] == [photo.ref()]
    assert t.evidence[-1]["files"][0]["sha256"] == photo.sha256
    t, _ = enf.transition(store, a, "dispose", INSP, **penalty)
    # a penalty waits for a chief's approval (issue 16 item 9: the new step is intended)
    assert t.state is tk.State.AWAITING_APPROVAL
    t, _ = enf.transition(store, a, "approve", tk.Actor("chief-1", tk.Role.CHIEF))
    assert t.state is tk.State.DISPOSED
    snapshot, _ = enf.get_task(store, a)
    assert enf.replay_task(store, a).as_dict() == snapshot.as_dict()
    enf.verify_audit(store)


def test_enterprise_submits_its_rectification(tasks: tuple[Store, str, str]) -> None:
    store, a, _ = tasks
    enf.transition(store, a, "visit", INSP, note="n")
    enf.transition(store, a, "dispose", INSP, kind="rectification_order", due="2099-01-31")
    with pytest.raises(PermissionDenied):
        ev.store_file(store, a, "r.pdf", "application/pdf", pdf("B"), ENT_B)
    rec, _ = ev.store_file(store, a, "整改报告.pdf", "application/pdf", pdf("A"), ENT_A)
    assert rec.uploader_role == "enterprise"
    with pytest.raises(InputError):
        enf.transition(store, a, "submit_rectification", ENT_A, files=["整改报告.pdf"])
    _, event = enf.transition(store, a, "submit_rectification", ENT_A, files=[rec.id])
    assert event.payload["files"][0]["sha256"] == rec.sha256
    enf.transition(store, a, "verify_rectification", INSP, accepted=True)
    enf.transition(store, a, "close", INSP)
    # the model city's closure waits for a chief (结案审批; intended change): evidence may still
    # be added while it waits, not once it is closed
    enf.transition(store, a, "approve", tk.Actor("chief-1", tk.Role.CHIEF))
    with pytest.raises(ConflictError, match="closed"):
        ev.store_file(store, a, "late.pdf", "application/pdf", pdf("late"), INSP)
    with pytest.raises(PermissionDenied):
        ev.store_file(store, a, "x.pdf", "application/pdf", pdf(), tk.Actor("s", tk.Role.SYSTEM))


def test_uploads_are_checked_before_anything_is_stored(tasks: tuple[Store, str, str]) -> None:
    store, a, _ = tasks
    cases: list[tuple[str, str, bytes, dict[str, int], str, type[Exception]]] = [
        ("big.png", "image/png", png() + b"\0" * 100, {"max_bytes": 100}, "content", TooLarge),
        ("empty.png", "image/png", b"", {}, "content", InputError),
        ("page.html", "text/html", b"<html>", {}, "media_type", InputError),
        ("a.exe", "application/octet-stream", b"MZ\x90\0", {}, "media_type", InputError),
        ("fake.png", "image/png", pdf(), {}, "content", InputError),  # signature mismatch
        ("fake.pdf", "application/pdf", b"%PD", {}, "content", InputError),
        ("x.webp", "image/webp", b"RIFF\0\0\0\0WAVE", {}, "content", InputError),
        ("x.mp4", "video/mp4", b"\0\0\0\x08ftypisom", {}, "content", InputError),
        ("photo.pdf", "image/png", png(), {}, "name", InputError),  # wrong extension
        ("../../etc/passwd.png", "image/png", png(), {}, "name", InputError),
        ("C:\\x\\a.png", "image/png", png(), {}, "name", InputError),
        (".hidden.png", "image/png", png(), {}, "name", InputError),
        ("gnp\u202e.exe", "image/png", png(), {}, "name", InputError),
        ("a\nb.png", "image/png", png(), {}, "name", InputError),
        ("x" * 300 + ".png", "image/png", png(), {}, "name", InputError),
        ("   ", "image/png", png(), {}, "name", InputError),
    ]
    for name, mt, content, kw, field, exc in cases:
        with pytest.raises(exc) as ei:
            ev.store_file(store, a, name, mt, content, INSP, **kw)
        assert isinstance(ei.value, InputError) and ei.value.field == field, name
    assert ev.list_files(store, a) == []
    with pytest.raises(NotFoundError):
        ev.store_file(store, "T20990101-0001", "a.png", "image/png", png(), INSP)
    ok = [("clip.mp4", "video/mp4", b"\0\0\0\x18ftypisom" + b"\0" * 16),
          ("s.webp", "image/webp", b"RIFF\x10\0\0\0WEBPVP8 "), ("A:B?.JPG", "image/jpeg",
          JPEG_HEAD)]  # fmt: skip
    names = [ev.store_file(store, a, n, mt, c, INSP)[0].name for n, mt, c in ok]
    assert names == ["clip.mp4", "s.webp", "A_B_.JPG"]
    with pytest.raises(InputError, match="at most 3 files"):
        ev.store_file(store, a, "four.png", "image/png", png(), INSP, max_files=3)


def test_bytes_changed_in_the_store_are_refused(tasks: tuple[Store, str, str]) -> None:
    store, a, _ = tasks
    rec, _ = ev.store_file(store, a, "p.png", "image/png", png(), INSP)
    store.execute("UPDATE enforcement_evidence SET content = ? WHERE id = ?",
                  [png(seed=1), rec.id])  # fmt: skip
    with pytest.raises(StorageError, match="SHA-256"):
        ev.read_file(store, a, rec.id)


def test_content_disposition_and_digest() -> None:
    cd = ev.content_disposition('整改 "报告";.pdf')
    assert cd.startswith("attachment; filename=\"__ _____.pdf\"; filename*=UTF-8''")
    assert "%E6%95%B4%E6%94%B9" in cd and '"' not in cd.split("filename*=")[1]
    assert ev.repr_digest("00" * 32) == "sha-256=:" + "A" * 43 + "=:"


BAD_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


@given(st.text(max_size=300))
def test_clean_name_yields_a_plain_name_or_refuses(name: str) -> None:
    try:
        clean = ev.clean_name(name)
    except InputError as e:
        assert e.field == "name"
        return
    assert clean and clean == clean.strip() and len(clean) <= ev.MAX_NAME
    assert "/" not in clean and "\\" not in clean and not clean.startswith(".")
    assert not any(unicodedata.category(c) in BAD_CATEGORIES for c in clean)
    assert not any(c in '<>:"|?*' for c in clean)
    assert ev.clean_name(clean) == clean  # idempotent


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_clean_name_with_a_type_ends_in_its_extension(stem: str) -> None:
    try:
        clean = ev.clean_name(stem, "application/pdf")
    except InputError as e:
        assert e.field == "name"
        return
    assert clean.lower().endswith(".pdf")

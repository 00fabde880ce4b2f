"""The black box's HJ 212 channel: frames round-trip bit for bit, byte at a time; a capture is
stored only when its box's signature verifies; tampering on the wire is refused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bishui.errors import InputError
from bishui.hj212 import codec
from bishui.store import Store
from bishui.vehicles import boxframe, boxsign, service
from bishui.vehicles.model import Capture

NOW = dt.datetime(2026, 12, 7, 9)
SK = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _cap(iid: str = "T1", n: int = 40) -> Capture:
    rng = np.random.default_rng(7)
    co = rng.random(n) * 0.3
    co[5] = np.nan  # a dropout travels as a missing field
    curve = {"co": co, "speed": np.linspace(0, 25, n), "o2": rng.random(n) * 1e-5}
    return Capture(iid, "BB01", "AN01", dt.datetime(2026, 12, 7, 8, 30, 1), curve)


def _same(a: Capture, b: Capture) -> bool:
    return (a.inspection_id, a.box_serial, a.analyser, a.start) == (
        b.inspection_id, b.box_serial, b.analyser, b.start) and all(
        np.array_equal(a.curve[k], b.curve[k], equal_nan=True) for k in a.curve)  # fmt: skip


def test_round_trip_whole_and_byte_at_a_time() -> None:
    c = _cap()
    data = boxframe.encode(c, boxsign.sign(c, SK)) + boxframe.encode(_cap("T2"), "x")
    assert data.startswith(b"##") and data.count(b"\r\n") == 2 * (40 + 2)
    whole = boxframe.decode(data)
    trickle = boxframe.decode(b"", [data[i : i + 1] for i in range(len(data))])
    assert [r.capture.inspection_id for r in whole] == ["T1", "T2"]
    for r in (whole[0], trickle[0]):
        assert _same(r.capture, c)
        assert boxsign.verify(r.capture, r.signature, boxsign.public_raw(SK))


def test_a_frame_failing_its_crc_leaves_the_capture_incomplete() -> None:
    c = _cap()
    data = bytearray(boxframe.encode(c, boxsign.sign(c, SK)))
    i = data.index(b"Sec=3;")
    data[i + 4] = ord("4")  # an edit on the wire: the CRC no longer matches
    with pytest.raises(InputError, match="every second"):
        boxframe.decode(bytes(data))


def test_a_capture_without_its_tail_is_refused() -> None:
    c = _cap()
    data = boxframe.encode(c, boxsign.sign(c, SK))
    with pytest.raises(InputError, match="tail"):
        boxframe.decode(data[: data.rindex(b"##")])


def test_a_re_framed_edit_fails_the_signature(store: Store) -> None:
    service.register_box(store, "BB01", "L1", boxsign.public_raw(SK), "admin", NOW)
    c = _cap()
    sig = boxsign.sign(c, SK)
    edited = Capture(c.inspection_id, c.box_serial, c.analyser, c.start,
                     {**c.curve, "co": c.curve["co"] * 0.5})  # fmt: skip
    # valid frames (a fresh CRC) around an edited curve: only the signature catches it
    frames = boxframe.encode(edited, sig)
    codec.decode(frames[: frames.index(b"\r\n") + 2])  # the frames themselves are well formed
    with pytest.raises(InputError, match="signature"):
        service.upload_capture_frames(store, frames, "blackbox", NOW)
    assert store.count("vehicles_captures") == 0
    assert service.upload_capture_frames(store, boxframe.encode(c, sig), "blackbox", NOW) == 1
    (row,) = store.query("SELECT inspection_id, box_serial FROM vehicles_captures")
    assert (row["inspection_id"], row["box_serial"]) == ("T1", "BB01")

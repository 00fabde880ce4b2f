"""The black box's own channel in HJ 212 framing (issue 19 item 2: "HJ 212-style framing or
HTTPS, signed per device"), through the platform's sans-IO codec (:mod:`bishui.hj212`).

A capture goes as a run of ordinary HJ 212 frames (``##LLLL…CRC\\r\\n``, CRC and length checked
by the codec, byte-at-a-time safe through :class:`bishui.hj212.session.Session`):

* one **head** frame (CN :data:`CN_HEAD`): ``InspId``, ``Box``, ``Analyser``, ``Start``
  (ISO 8601 with ``:`` as sent), ``Seconds``;
* one **second** frame per second of the curve (CN :data:`CN_SECOND`): ``Sec`` and one
  ``<channel>-Rtd`` field a channel (``repr`` of the float, so it round-trips bit for bit; a
  missing value is left out);
* one **tail** frame (CN :data:`CN_TAIL`): ``Seconds`` again and ``Sig`` — the box's Ed25519
  signature over :func:`bishui.vehicles.boxsign.canonical` (base64url).

The ST and CN codes are the platform's own [M]: HJ 212 has no system code for a vehicle
inspection lane, so :data:`ST` = ``"99"`` and CNs 9901–9903 are private choices a deployment may
change; the framing, the CRC and the MN/PW header are HJ 212's. The MN is the box serial. The
signature is checked by the service against the box's registered key before anything is stored
(:func:`bishui.vehicles.service.upload_capture_frames`), exactly as for the HTTPS/JSON channel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bishui.errors import InputError
from bishui.hj212 import codec
from bishui.hj212.session import PacketReceived, Rejected, Session
from bishui.vehicles.model import Capture

ST = "99"  # [M] platform-private system code
CN_HEAD, CN_SECOND, CN_TAIL = "9901", "9902", "9903"  # [M] platform-private command codes
CN_ACK = "9904"  # [M] the platform's answer on the TCP listener (bishui.vehicles.boxlistener)
MAX_SECONDS = 3600  # a test longer than an hour is refused [M]


def encode(c: Capture, signature: str, *, pw: str = "123456") -> bytes:
    """The capture *c* with the box's *signature* as HJ 212 frames (concatenated)."""
    chans = sorted(c.curve)
    n = max((len(c.curve[k]) for k in chans), default=0)
    head = {"InspId": c.inspection_id, "Box": c.box_serial, "Analyser": c.analyser,
            "Start": c.start.isoformat(), "Seconds": str(n),
            "Channels": "|".join(chans)}  # fmt: skip
    out = [_frame(c.box_serial, pw, CN_HEAD, ";".join(f"{k}={v}" for k, v in head.items()))]
    for i in range(n):
        fields = [f"Sec={i}"]
        for k in chans:
            v = c.curve[k]
            if i < len(v) and np.isfinite(v[i]):
                fields.append(f"{k}-Rtd={float(v[i])!r}")
        out.append(_frame(c.box_serial, pw, CN_SECOND, ";".join(fields)))
    out.append(_frame(c.box_serial, pw, CN_TAIL, f"Seconds={n};Sig={signature}"))
    return b"".join(out)


def ack(box: str, inspection_id: str, stored: bool, reason: str = "") -> bytes:
    """The platform's answer to one capture (CN :data:`CN_ACK`): ``InspId``, ``Result`` (1
    stored, 0 refused) and, when refused, ``Reason`` — the field the refusal names
    (``signature``, ``box_serial``, ``frames``, ``conflict`` …), letters, digits and ``_``."""
    cp = f"InspId={_safe(inspection_id)};Result={1 if stored else 0}"
    if not stored:
        cp += f";Reason={_safe(reason) or 'refused'}"
    return _frame(_safe(box) or "unknown", "", CN_ACK, cp)


def _safe(text: str) -> str:
    """*text* with only what a CP value may carry here (no ``;``, ``=``, ``,``, ``&``)."""
    return "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch in "_-.:"))[:64]


def _frame(mn: str, pw: str, cn: str, cp: str) -> bytes:
    return codec.encode(codec.Packet.make(st=ST, cn=cn, pw=pw, mn=mn, cp=cp))


@dataclass
class _Partial:
    head: dict[str, str]
    seconds: int
    channels: tuple[str, ...]
    values: dict[str, list[float]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Received:
    """A whole capture off the wire, not yet verified: the capture and its signature."""

    capture: Capture
    signature: str


class Assembler:
    """Sans-IO: feed bytes as they arrive (any chunking, one byte at a time included); whole
    captures come out with their signatures. A malformed or incomplete capture raises
    :class:`InputError`; frames the codec refuses (CRC, length) are counted in
    :attr:`rejected` and make the capture they belonged to incomplete."""

    def __init__(self) -> None:
        self._session = Session("platform")
        self._open: dict[str, _Partial] = {}
        self.rejected = 0

    def feed(self, data: bytes) -> list[Received]:
        out: list[Received] = []
        for ev in self._session.receive_data(data):
            if isinstance(ev, Rejected):
                self.rejected += 1
            elif isinstance(ev, PacketReceived) and ev.packet.st == ST:
                got = self._packet(ev.packet)
                if got is not None:
                    out.append(got)
        return out

    def close(self) -> list[Received]:
        """End of stream: a capture left open is incomplete."""
        out = [
            r
            for ev in self._session.end_of_stream()
            if isinstance(ev, PacketReceived)
            for r in [self._packet(ev.packet)]
            if r is not None
        ]
        if self._open:
            raise InputError("frames", "a capture ends with its tail frame", sorted(self._open))
        return out

    def _packet(self, p: codec.Packet) -> Received | None:
        cp = p.cp_dict
        box = p.mn
        if p.cn == CN_HEAD:
            n = _int(cp.get("Seconds"), "Seconds")
            chans = tuple(x for x in (cp.get("Channels") or "").split("|") if x)
            self._open[box] = _Partial(cp, n, chans, {k: [np.nan] * n for k in chans})
            return None
        part = self._open.get(box)
        if part is None:
            raise InputError("frames", "a head frame before the box's data", p.cn)
        if p.cn == CN_SECOND:
            i = _int(cp.get("Sec"), "Sec")
            if not 0 <= i < part.seconds or i in part.seen:
                raise InputError("Sec", f"a new second in 0..{part.seconds - 1}", i)
            part.seen.add(i)
            for k in part.channels:
                raw = cp.get(f"{k}-Rtd")
                if raw is not None:
                    try:
                        part.values[k][i] = float(raw)
                    except ValueError:
                        raise InputError(f"{k}-Rtd", "a number", raw) from None
            return None
        if p.cn == CN_TAIL:
            del self._open[box]
            if _int(cp.get("Seconds"), "Seconds") != part.seconds or len(part.seen) != part.seconds:
                raise InputError("frames", "every second of the capture", len(part.seen))
            h = part.head
            try:
                start = dt.datetime.fromisoformat(h.get("Start", ""))
            except ValueError:
                raise InputError("Start", "an ISO 8601 time", h.get("Start")) from None
            curve = {k: np.asarray(v, dtype=float) for k, v in part.values.items()}
            cap = Capture(h.get("InspId", ""), h.get("Box", ""), h.get("Analyser", ""), start,
                          curve)  # fmt: skip
            if cap.box_serial != box:
                raise InputError("Box", "the frame's MN", cap.box_serial)
            return Received(cap, cp.get("Sig", ""))
        raise InputError("CN", "a black-box command", p.cn)


def _int(text: str | None, name: str) -> int:
    try:
        n = int(text or "")
    except ValueError:
        raise InputError(name, "an integer", text) from None
    if not 0 <= n <= MAX_SECONDS:
        raise InputError(name, f"0..{MAX_SECONDS}", n)
    return n


def decode(data: bytes, chunks: Iterable[bytes] | None = None) -> list[Received]:
    """Every capture in *data* (or in *chunks*, fed in turn)."""
    a = Assembler()
    out: list[Received] = []
    for ch in chunks if chunks is not None else [data]:
        out += a.feed(ch)
    return out + a.close()

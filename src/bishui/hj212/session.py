"""The HJ 212 conversation, sans-IO: bytes in → events out, replies as bytes.

One :class:`Session` per TCP connection, on either side (``role="platform"`` in the gateway,
``role="device"`` in the simulator). Feed it whatever the socket delivered —
:meth:`Session.receive_data` — split or joined in any way (粘包/拆包), with noise between
frames, and it returns events:

``PacketReceived``  a frame that passed CRC policy and grammar (``reassembled`` is set on the
                    last part of a segmented upload, STD17 Table 3 PNUM/PNO)
``Rejected``        a frame that did not, with a reason code (``bishui.hj212.errors``)
``Noise``           bytes skipped outside frames (Modbus, DTU heartbeats, scanners …)
``CommandAnswered`` / ``CommandFinished`` / ``CommandTimedOut``  (platform) the 9011 and
                    9012 of a request this side sent, matched by QN (STD17 §6.1)
``Acknowledged`` / ``AckTimedOut``  (device) the 9014/9013 of an upload, matched by QN

Reply rules (STD17 §6.1, §6.5, Appendix C):

* an upload whose Flag bit A is 1 is answered 9014 (QN echoed, ST=91, Flag = version bits) —
  **but not by the session on receipt**: :meth:`Session.acknowledge` produces the 9014 when
  the caller says so, because the gateway acknowledges only after the data is durable;
* a notice (1013 from a device; 2012/2022 from the platform) is answered 9013 at once;
* a 2025 heartbeat (9015) with A = 1 is answered 9014 at once (no data to make durable);
* requests the platform sends are tracked: 9011 (QnRtn), data, 9012 (ExeRtn) by QN, with
  timeouts and resends driven by :meth:`Session.tick` (``now`` from the caller's clock —
  there are no timers in here).

Automatic replies and resends accumulate in an outbox drained by :meth:`data_to_send`; the
methods a caller invokes on purpose (``acknowledge``, ``send_command``, ``send_upload``,
``answer_request``, ``finish_request``) return their bytes.

Memory is bounded: the receive buffer never holds more than one partial frame (at most
``max_data_length + 12`` bytes), reassembly and command tables have fixed caps.

Robustness (issue 13): a refused candidate frame ends at the next ``##dddd`` inside it and
scanning resumes there, so a broken frame never hides the next good one; every byte received
lands in exactly one event (a frame, a rejection's ``raw``, a noise count), so a call emits no
more than it was given; no input makes :meth:`Session.receive_data` raise; optional abuse
limits (``max_noise_bytes``, ``max_rejections``) stop parsing a flood.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bishui.errors import InputError
from bishui.hj212.codec import (
    EDITIONS,
    MAX_DATA_LENGTH,
    Packet,
    check_and_decode,
    encode,
    flag_for,
    merge_segments,
    peek_mn,
)
from bishui.hj212.crc import hj212_crc, parse_policy
from bishui.hj212.errors import FrameError
from bishui.hj212.tables import commands
from bishui.timeutil import now_beijing

__all__ = [
    "AckTimedOut",
    "Acknowledged",
    "Command",
    "CommandAnswered",
    "CommandFinished",
    "CommandTimedOut",
    "Event",
    "Noise",
    "PacketReceived",
    "Rejected",
    "Session",
    "make_qn",
]

#: Answer CNs (STD17 Table 9, 9000–9999 interaction).
ANSWERS = frozenset({"9011", "9012", "9013", "9014"})
HEARTBEAT = "9015"


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A request the platform sent, tracked until its 9012 (or a timeout)."""

    qn: str
    cn: str
    mn: str
    raw: bytes
    state: str = "sent"  # sent → answered → finished | timed_out
    qn_rtn: int | None = None
    exe_rtn: int | None = None


@dataclass(frozen=True)
class PacketReceived:
    packet: Packet
    raw: bytes
    reassembled: Packet | None = None  # the whole upload, on its last segment
    command: Command | None = None  # the platform request this data answers, if any


@dataclass(frozen=True)
class Rejected:
    reason: str
    message: str
    raw: bytes
    mn: str | None = None


@dataclass(frozen=True)
class Noise:
    count: int
    sample: bytes  # the first bytes skipped (≤ 32), for the log


@dataclass(frozen=True)
class CommandAnswered:
    command: Command
    qn_rtn: int | None


@dataclass(frozen=True)
class CommandFinished:
    command: Command
    exe_rtn: int | None


@dataclass(frozen=True)
class CommandTimedOut:
    command: Command
    stage: str  # "answer" (no 9011) or "execution" (no 9012)


@dataclass(frozen=True)
class Acknowledged:
    qn: str
    cn: str  # the answer's CN: 9014 or 9013


@dataclass(frozen=True)
class AckTimedOut:
    packet: Packet
    raw: bytes


Event = (
    PacketReceived
    | Rejected
    | Noise
    | CommandAnswered
    | CommandFinished
    | CommandTimedOut
    | Acknowledged
    | AckTimedOut
)

_qn_counter = itertools.count()

#: A frame header: ``##`` and four decimal digits (STD17 Table 2).
_HEADER = re.compile(rb"##([0-9]{4})")


def _nested_frame(buf: bytes, i: int, end: int) -> int:
    """Start of a header inside the frame at *i* whose declared length ends at the same place
    (*end*, where CR LF starts), or -1. One failed search for an ordinary frame."""
    m = _HEADER.search(buf, i + 2, end - 4)
    while m is not None:
        j = m.start()
        if j + int(m.group(1)) + 10 == end:
            return j
        m = _HEADER.search(buf, j + 2, end - 4)
    return -1


def _partial_header_start(buf: bytes, pos: int) -> int:
    """Where a header that may still be arriving starts in the tail of *buf* (≥ *pos*):
    the last ``#`` of the final five bytes followed only by ``#`` and digits."""
    size = len(buf)
    k = max(pos, size - 5)
    j = buf.find(b"#", k)
    while j >= 0:
        tail = buf[j:]
        if (tail == b"#" or tail[:2] == b"##") and (len(tail) <= 2 or tail[2:].isdigit()):
            return j
        j = buf.find(b"#", j + 1)
    return size


def make_qn(t: dt.datetime | None = None) -> str:
    """A QN ``YYYYMMDDhhmmsszzz`` (Table 3) for Beijing time *t* (default: now)."""
    t = now_beijing() if t is None else t
    return t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}"


@dataclass
class _Pending:
    raw: bytes
    deadline: float
    tries: int
    command: Command | None = None
    packet: Packet | None = None


@dataclass
class _Segments:
    first_seen: float
    parts: dict[int, Packet] = field(default_factory=dict)


PolicyFor = Callable[[str | None], str]
EditionFor = Callable[[str], str | None]


class Session:
    """One side of one HJ 212 connection. See the module docstring.

    Parameters
    ----------
    role : {"platform", "device"}
    crc_policy : str or callable
        Allowed CRC variants, or ``mn -> policy`` (``mn`` is ``None`` when the frame's MN
        cannot be read). Default strict ``"hj212"``.
    edition : str, callable or None
        Edition used for replies (``"2005"``, ``"2017"``, ``"2025"``), or ``mn -> edition``;
        ``None`` answers in the edition the frame announced.
    max_data_length : int
        Largest data segment accepted [bytes]; larger frames are rejected ``too_long``.
    timeout, retries : float [s], int
        Answer timeout and resend count for requests (platform) and uploads awaiting 9014
        (device); STD17 §6.2 Table 1 defaults 10 s × 3 (GPRS etc.).
    execution_timeout : float [s]
        How long the platform waits for 9012 after 9011.
    ack_flagless_uploads : bool
        Whether an upload without Flag (HJ/T 212-2005 loggers) is answered 9014.
    max_segment_sets, max_segment_parts : int
        Caps on PNUM/PNO reassembly; larger uploads are still delivered part by part.
    reassemble : bool
        Put segments together on receipt (default); ``False`` leaves it to the caller's
        :meth:`add_segment`, after it has authenticated the sender.
    max_noise_bytes, max_rejections : int or None
        Abuse limits since the last good frame: noise and refused bytes [bytes], refused
        frames. Past either, :attr:`abusive` is set and whatever arrives is only counted as
        noise, never parsed (bounded work per read for a flood); the caller closes.
    segment_timeout : float [s]
        Incomplete segment sets older than this are dropped by :meth:`tick`.
    """

    def __init__(
        self,
        role: str = "platform",
        *,
        crc_policy: str | PolicyFor = "hj212",
        edition: str | EditionFor | None = None,
        max_data_length: int = MAX_DATA_LENGTH,
        timeout: float = 10.0,
        retries: int = 3,
        execution_timeout: float = 120.0,
        ack_flagless_uploads: bool = False,
        max_segment_sets: int = 16,
        max_segment_parts: int = 64,
        segment_timeout: float = 600.0,
        max_pending: int = 256,
        reassemble: bool = True,
        max_noise_bytes: int | None = None,
        max_rejections: int | None = None,
    ) -> None:
        if role not in ("platform", "device"):
            raise InputError("role", "must be 'platform' or 'device'", role)
        if isinstance(crc_policy, str):
            parse_policy(crc_policy)
        if isinstance(edition, str) and edition not in EDITIONS.values():
            raise InputError("edition", "must be 2005, 2017 or 2025", edition)
        self.role = role
        self._policy = crc_policy
        self._edition = edition
        self.max_data_length = max_data_length
        self.timeout = timeout
        self.retries = retries
        self.execution_timeout = execution_timeout
        self.ack_flagless_uploads = ack_flagless_uploads
        self.max_segment_sets = max_segment_sets
        self.max_segment_parts = max_segment_parts
        self.segment_timeout = segment_timeout
        self.max_pending = max_pending
        self.reassemble = reassemble
        self.max_noise_bytes = max_noise_bytes
        self.max_rejections = max_rejections
        self.rejected_since_frame = 0
        self.abusive = False  # a limit was passed: the rest is counted, not parsed
        self._buf = b""
        self._out: list[bytes] = []
        self._pending: dict[str, _Pending] = {}  # QN → what we wait an answer for
        self._segments: dict[tuple[str, str, int, str], _Segments] = {}
        self._now = 0.0
        self.noise_bytes = 0
        self.noise_since_frame = 0  # noise and refused bytes since the last good frame
        self.frames = 0
        self.rejected = 0

    # -- receiving ---------------------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Event]:
        """Feed bytes from the peer; returns the events they complete.

        Never raises on any input. Every byte received ends up in exactly one place: a
        frame, a rejection's ``raw`` or a noise count (the noise *sample* is at most 32
        bytes), so what one call emits is bounded by what it was given; what stays buffered
        is at most one partial frame (``max_data_length + 12`` bytes).
        """
        buf = self._buf + data if self._buf else bytes(data)
        events: list[Event] = []
        try:
            pos = self._scan(buf, events)
        except Exception as exc:  # a bug must cost these bytes, never the caller's loop
            self._reject(
                events,
                FrameError("bad_field", f"unprocessable input ({type(exc).__name__})"),
                buf[: self.max_data_length + 12],
            )
            pos = len(buf)
        self._buf = buf[pos:]
        if not self.abusive:
            self.abusive = self._over_limits()
        return events

    def _over_limits(self) -> bool:
        lim_n, lim_r = self.max_noise_bytes, self.max_rejections
        return (lim_n is not None and self.noise_since_frame > lim_n) or (
            lim_r is not None and self.rejected_since_frame > lim_r
        )

    def _scan(self, buf: bytes, events: list[Event]) -> int:
        """Frames, rejections and noise of *buf*; returns where the unconsumed tail starts.

        Resynchronisation rule: whenever the candidate frame at ``##`` is refused — too long,
        truncated, misframed — its ``raw`` stops at the next ``##dddd`` header inside it and
        scanning resumes *there*, so a good frame following a broken one is always found.
        """
        pos = 0
        size = len(buf)
        maxlen = self.max_data_length
        search = _HEADER.search
        limited = self.max_noise_bytes is not None or self.max_rejections is not None
        while pos < size:
            if self.abusive or (limited and self._over_limits()):
                self.abusive = True
                self._noise(events, buf, pos, size)  # counted, not parsed
                return size
            m = search(buf, pos)
            if m is None:
                keep = _partial_header_start(buf, pos)
                self._noise(events, buf, pos, keep)
                return keep
            i = m.start()
            if i > pos:
                self._noise(events, buf, pos, i)
            n = int(m.group(1))
            if n > maxlen:
                # refused at once (never buffered); its raw stops at the next header, or at
                # what has arrived, keeping a header that may be arriving at the tail
                nxt = search(buf, i + 2, i + n + 12)
                if nxt is not None:
                    stop = nxt.start()
                else:
                    stop = min(_partial_header_start(buf, i + 6), i + n + 12)
                msg = f"declared length {n} > {maxlen}"
                self._reject(events, FrameError("too_long", msg), buf[i:stop])
                pos = stop
                continue
            end = i + n + 10  # where CR LF must start
            if buf[end : end + 2] == b"\r\n" or (
                buf[end : end + 1] == b"\n" and buf[end - 1 : end] != b"\r"
            ):
                stop = end + (2 if buf[end : end + 1] == b"\r" else 1)
                nested = _nested_frame(buf, i, end)
                if nested >= 0:
                    # garbage glued before a real frame whose own length ends at the same
                    # CR LF: a CRC that happens to match the whole (1 in 256) must not win
                    msg = f"frame cut off by the next '##' after {nested - i} bytes"
                    self._reject(events, FrameError("truncated", msg), buf[i:nested])
                    pos = nested
                    continue
                if self._frame(events, buf[i:stop], buf[i + 6 : end - 4], buf[end - 4 : end]):
                    pos = stop
                    continue
                # refused (CRC, grammar): if a header sits inside, the candidate was a
                # truncated frame glued to the next one — keep the next one
                inner = search(buf, i + 2, end)
                rej = events[-1]
                if inner is not None and isinstance(rej, Rejected):
                    events[-1] = Rejected(
                        "truncated",
                        f"frame cut off by the next '##' after {inner.start() - i} bytes",
                        buf[i : inner.start()],
                        rej.mn,
                    )
                    pos = inner.start()
                else:
                    pos = stop
                continue
            # not terminated where the length says: early CR LF, inner header, or longer
            early = buf.find(b"\r\n", i + 6, min(end, size))
            # (a header starting before the CR LF position needs its six bytes: end + 8)
            inner = search(buf, i + 2, min(size, end + 8) if early < 0 else early)
            if inner is not None:
                j = inner.start()
                msg = f"frame cut off by the next '##' after {j - i} bytes"
                self._reject(events, FrameError("truncated", msg), buf[i:j])
                pos = j
                continue
            if early >= 0:
                pos = self._misframed(events, buf, i, n, early)
                continue
            if size < end + 2:
                return i  # incomplete: wait (at most max_data_length + 12 bytes)
            # longer than declared? look for its CR LF (bounded by the maximum size)
            limit = i + maxlen + 12
            crlf = buf.find(b"\r\n", end, limit)
            inner = search(buf, end, crlf if crlf >= 0 else min(size, limit))
            if inner is not None:
                j = inner.start()
                msg = f"no CR LF where the length field ({n}) says the frame ends"
                self._reject(events, FrameError("bad_length", msg), buf[i:j])
                pos = j
                continue
            if crlf < 0:
                if size < limit:
                    return i  # it may still be arriving
                msg = f"no CR LF within {maxlen} bytes of the frame's start"
                self._reject(events, FrameError("bad_length", msg), buf[i:limit])
                pos = limit
                continue
            pos = self._misframed(events, buf, i, n, crlf)
        return pos

    def _misframed(self, events: list[Event], buf: bytes, i: int, n: int, crlf: int) -> int:
        """The frame at *i* ends (CR LF at *crlf*) elsewhere than its length says. Try the
        declared length as a count of characters (some loggers count UTF-16/Unicode
        characters, notes §12.4); otherwise reject ``bad_length``. Resumes after the CR LF."""
        raw = buf[i : crlf + 2]
        seg = buf[i + 6 : crlf - 4] if crlf >= i + 10 else b""
        try:
            chars = len(seg.decode("utf-8")) if seg else -1
        except UnicodeDecodeError:
            chars = -1
        if chars == n:
            self._frame(events, raw, seg, buf[crlf - 4 : crlf])
        else:
            got = max(0, crlf - 4 - (i + 6))
            msg = f"length field says {n}, the data segment has {got} bytes"
            self._reject(events, FrameError("bad_length", msg), raw)
        return crlf + 2

    def end_of_stream(self) -> list[Event]:
        """The peer closed: whatever partial frame is buffered is ``truncated``."""
        events: list[Event] = []
        buf, self._buf = self._buf, b""
        i = buf.find(b"##")
        if i < 0:
            if buf:
                self._noise(events, buf, 0, len(buf))
        else:
            if i:
                self._noise(events, buf, 0, i)
            self._reject(
                events,
                FrameError("truncated", f"connection closed {len(buf) - i} bytes into a frame"),
                buf[i:],
            )
        return events

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame [bytes]."""
        return len(self._buf)

    def _noise(self, events: list[Event], buf: bytes, a: int, b: int) -> None:
        if b <= a:
            return
        self.noise_bytes += b - a
        self.noise_since_frame += b - a
        last = events[-1] if events else None
        if isinstance(last, Noise):
            events[-1] = Noise(last.count + b - a, last.sample)
        else:
            events.append(Noise(b - a, buf[a : min(b, a + 32)]))

    def _reject(self, events: list[Event], exc: FrameError, raw: bytes) -> None:
        self.rejected += 1
        self.rejected_since_frame += 1
        self.noise_since_frame += len(raw)
        events.append(Rejected(exc.reason, exc.message, bytes(raw), exc.mn))

    def _policy_for(self, seg: bytes) -> str | frozenset[str]:
        pol = self._policy
        if isinstance(pol, str):
            return pol
        return pol(peek_mn(seg))

    def _frame(self, events: list[Event], raw: bytes, seg: bytes, crc: bytes) -> bool:
        """Check and decode one delimited frame; ``False`` if it was refused (a
        ``Rejected`` event was added)."""
        try:
            p = check_and_decode(seg, crc, self._policy_for(seg))
        except FrameError as exc:
            self._reject(events, exc, raw)
            return False
        except InputError as exc:  # a bad policy name from the registry
            self._reject(events, FrameError("crc_mismatch", exc.message), raw)
            return False
        mark = len(events)
        try:
            self._deliver(events, p, raw)
        except (InputError, FrameError, ValueError) as exc:
            # a frame that decodes but cannot be answered (say, PW=a=b in a notice)
            del events[mark:]
            msg = exc.message if isinstance(exc, InputError | FrameError) else str(exc)
            self._reject(events, FrameError("bad_field", msg[:200], mn=p.mn), raw)
            return False
        self.frames += 1
        self.noise_since_frame = 0
        self.rejected_since_frame = 0
        return True

    def _deliver(self, events: list[Event], p: Packet, raw: bytes) -> None:
        cn = p.cn
        if cn in ANSWERS:
            self._answer(events, p, raw)
            return
        if cn == HEARTBEAT:
            if p.ack_requested:
                self._out.append(self.reply(p, "9014"))
            events.append(PacketReceived(p, raw))
            return
        if self._is_notice(p):
            self._out.append(self.reply(p, "9013"))
        command = self._command_for(p) if self.role == "platform" else None
        reassembled = self._reassemble(p) if p.is_segment and self.reassemble else None
        events.append(PacketReceived(p, raw, reassembled, command))

    # -- answers -------------------------------------------------------------------------
    def _answer(self, events: list[Event], p: Packet, raw: bytes) -> None:
        qn = p.reply_qn
        pend = self._pending.get(qn) if qn is not None else None
        if self.role == "device":
            if pend is not None and p.cn in ("9014", "9013") and qn is not None:
                del self._pending[qn]
                events.append(Acknowledged(qn, p.cn))
            else:
                events.append(PacketReceived(p, raw))
            return
        if pend is None or pend.command is None or qn is None:
            events.append(PacketReceived(p, raw))  # unsolicited answer: the caller may log it
            return
        cmd = pend.command
        if p.cn == "9011":
            rtn = _safe_int(p.get("QnRtn"))
            cmd = Command(cmd.qn, cmd.cn, cmd.mn, cmd.raw, "answered", rtn, None)
            if rtn == 1:
                pend.command = cmd
                pend.deadline = self._now + self.execution_timeout
                pend.tries = 0
            else:
                del self._pending[qn]
            events.append(CommandAnswered(cmd, rtn))
        elif p.cn == "9012":
            rtn = _safe_int(p.get("ExeRtn"))
            cmd = Command(cmd.qn, cmd.cn, cmd.mn, cmd.raw, "finished", cmd.qn_rtn, rtn)
            del self._pending[qn]
            events.append(CommandFinished(cmd, rtn))
        else:
            events.append(PacketReceived(p, raw))

    def _command_for(self, p: Packet) -> Command | None:
        if not self._pending:
            return None
        pend = self._pending.get(p.qn) if p.qn is not None else None
        if pend is not None and pend.command is not None:
            return pend.command
        # history data (C.47–C.50) comes with new QNs: match the open request of that CN
        for pend in self._pending.values():
            c = pend.command
            if c is not None and c.cn == p.cn and c.mn == p.mn and c.state == "answered":
                return c
        return None

    def add_segment(self, p: Packet) -> Packet | None:
        """Add segment *p* to its set; the whole upload when *p* completes it. For callers
        that check the sender first (``reassemble=False``: the gateway, issue 13)."""
        return self._reassemble(p) if p.is_segment else None

    def _reassemble(self, p: Packet) -> Packet | None:
        pnum, pno = p.pnum or 0, p.pno or 0
        if pnum > self.max_segment_parts:
            return None
        key = (p.mn, p.cn, pnum, p.get("DataTime") or "")
        s = self._segments.get(key)
        if s is None:
            if len(self._segments) >= self.max_segment_sets:
                oldest = min(self._segments, key=lambda k: self._segments[k].first_seen)
                del self._segments[oldest]
            s = self._segments[key] = _Segments(self._now)
        s.parts[pno] = p
        if len(s.parts) == pnum:
            del self._segments[key]
            return merge_segments(list(s.parts.values()))
        return None

    # -- replies -------------------------------------------------------------------------
    def reply_edition(self, p: Packet) -> str:
        """The edition of an answer to *p*: the one its Flag announces (2017: version 1,
        2025: version 2), else the configured one, else 2017. A 2025 logger is answered
        ``Flag=8``/``9`` even when the registry still says 2017."""
        if p.version in (1, 2):
            return p.edition
        ed = self._edition
        if callable(ed):
            ed = ed(p.mn)
        if ed is None:
            ed = p.edition
        return ed if ed in EDITIONS.values() else "2017"

    def reply(self, p: Packet, cn: str, cp: str = "") -> bytes:
        """An answer to *p*: QN echoed, ST=91, PW and MN echoed, Flag = version bits.

        HJ/T 212-2005 answers without a header QN carry it in CP (notes §9).
        """
        ed = self.reply_edition(p)
        qn = p.qn
        if ed == "2005" and qn is None and p.reply_qn is not None and cn != "9014":
            cp = f"QN={p.reply_qn};{cp}" if cp else f"QN={p.reply_qn}"
        if not cp and qn is not None:
            # the common 9013/9014 with empty CP: the echoed fields come from a decoded
            # packet (no separators in them), so the frame is written directly
            seg = f"QN={qn};ST=91;CN={cn};PW={p.pw};MN={p.mn};Flag={flag_for(ed)};CP=&&&&"
            data = seg.encode("utf-8")
            return b"##%04d%s%04X\r\n" % (len(data), data, hj212_crc(data))
        answer = Packet(st="91", cn=cn, pw=p.pw, mn=p.mn, cp=cp, qn=qn, flag=flag_for(ed))
        return encode(answer)

    def needs_ack(self, p: Packet) -> bool:
        """Whether *p* (a device upload) is to be answered 9014 (Flag bit A; Table 3)."""
        if p.cn in ANSWERS or p.cn == HEARTBEAT or self._is_notice(p):
            return False  # answers are not answered; a notice got its 9013 on receipt
        return p.ack_requested or (p.flag is None and self.ack_flagless_uploads)

    def _is_notice(self, p: Packet) -> bool:
        """Whether *p* is a notice from the peer (1013 from a device, 2012/2022 from the
        platform): answered 9013 once, never also 9014."""
        kind = commands().get(p.cn)
        if kind is None:
            return False
        what = kind.device_sends if self.role == "platform" else kind.platform_sends
        return what == "notice"

    def acknowledge(self, p: Packet) -> bytes:
        """The 9014 data answer for *p* if its Flag asks for one, else ``b""`` (STD17 C.14).

        The gateway calls this only after the sink made the data durable.
        """
        return self.reply(p, "9014") if self.needs_ack(p) else b""

    def data_to_send(self) -> bytes:
        """Automatic replies and resends accumulated so far (the outbox is emptied)."""
        out, self._out = b"".join(self._out), []
        return out

    # -- platform → device requests ---------------------------------------------------
    def send_command(
        self,
        cn: str,
        *,
        mn: str,
        pw: str,
        st: str = "32",
        cp: str | dict[str, str] = "",
        now: float,
        qn: str | None = None,
        edition: str = "2017",
    ) -> tuple[Command, bytes]:
        """A platform request (Flag A = 1), tracked until its 9012 (STD17 §6.1, C.6).

        Parameters
        ----------
        now : float [s]
            The caller's monotonic clock; timeouts are measured on it by :meth:`tick`.
        """
        if self.role != "platform":
            raise InputError("role", "only the platform sends requests", self.role)
        qn = qn or self._fresh_qn()
        p = Packet.make(st=st, cn=cn, pw=pw, mn=mn, cp=cp, qn=qn, flag=flag_for(edition, ack=True))
        raw = encode(p)
        cmd = Command(qn, cn, mn, raw)
        self._track(qn, _Pending(raw, now + self.timeout, 0, command=cmd))
        self._now = max(self._now, now)
        return cmd, raw

    def _fresh_qn(self) -> str:
        qn = make_qn()
        while qn in self._pending:
            qn = str(int(qn) + 1)
        return qn

    def _track(self, qn: str, pend: _Pending) -> None:
        if len(self._pending) >= self.max_pending:
            oldest = min(self._pending, key=lambda k: self._pending[k].deadline)
            del self._pending[oldest]
        self._pending[qn] = pend

    # -- device side ------------------------------------------------------------------
    def send_upload(self, p: Packet, *, now: float, crc_variant: str = "hj212") -> bytes:
        """Encode an upload; if its Flag asks for an answer, wait for the 9014 (resend on
        :meth:`tick`, ``AckTimedOut`` after ``retries``)."""
        raw = encode(p, crc_variant=crc_variant)
        if p.ack_requested and p.qn is not None:
            self._track(p.qn, _Pending(raw, now + self.timeout, 0, packet=p))
        self._now = max(self._now, now)
        return raw

    def awaiting_ack(self) -> list[str]:
        """QNs of uploads still waiting for their 9014."""
        return [qn for qn, p in self._pending.items() if p.packet is not None]

    def answer_request(self, request: Packet, qn_rtn: int = 1) -> bytes:
        """The device's 9011 (QnRtn, Table 7) to a platform request."""
        return self.reply(request, "9011", f"QnRtn={qn_rtn}")

    def finish_request(self, request: Packet, exe_rtn: int = 1) -> bytes:
        """The device's 9012 (ExeRtn, Table 6) closing a platform request."""
        return self.reply(request, "9012", f"ExeRtn={exe_rtn}")

    # -- time ---------------------------------------------------------------------------
    def tick(self, now: float) -> list[Event]:
        """Advance the caller's clock: resend what timed out (into the outbox), report
        what gave up, drop stale segment sets."""
        self._now = max(self._now, now)
        events: list[Event] = []
        for qn, pend in list(self._pending.items()):
            if now < pend.deadline:
                continue
            cmd = pend.command
            waiting_answer = cmd is None or cmd.state == "sent"
            if waiting_answer and pend.tries < self.retries:
                pend.tries += 1
                pend.deadline = now + self.timeout
                self._out.append(pend.raw)
                continue
            del self._pending[qn]
            if cmd is not None:
                stage = "answer" if cmd.state == "sent" else "execution"
                done = Command(cmd.qn, cmd.cn, cmd.mn, cmd.raw, "timed_out", cmd.qn_rtn, None)
                events.append(CommandTimedOut(done, stage))
            elif pend.packet is not None:
                events.append(AckTimedOut(pend.packet, pend.raw))
        for key, s in list(self._segments.items()):
            if now - s.first_seen > self.segment_timeout:
                del self._segments[key]
        return events


def _safe_int(text: str | None) -> int | None:
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.isascii() and t.isdigit() else None

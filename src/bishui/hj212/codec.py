"""HJ 212 frames ↔ :class:`Packet` — the sans-IO codec.

Frame (HJ 212-2017 §6.3, Table 2)::

    ## LLLL <data segment, LLLL bytes> CCCC \\r\\n

Data segment (Table 3): ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&``.
CP data area (§6.3.3): items ``key=value``; fields of one item joined by ``,``; items by ``;``.

A :class:`Packet` keeps every CP value as the exact string sent, grouped exactly as sent
(``cp`` is a tuple of groups of ``(key, value)`` pairs), so that ``encode(decode(f)) == f``
for every canonical frame and ingest stores the values verbatim. Typed accessors
(:attr:`Packet.data_time`, :meth:`Packet.items`, :class:`Item` …) parse on demand.

Interpretations (docs/hj212.md): the length counts UTF-8 **bytes** of the data segment;
header fields are accepted in any order and separated by ``;`` or ``,`` (the standard's own
C.22 typo); the edition comes from the Flag version bits (``Flag`` absent ⇒ HJ/T 212-2005).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bishui.errors import InputError
from bishui.hj212.crc import crc_hex, hj212_crc, matching_variant, parse_policy
from bishui.hj212.errors import FrameError

__all__ = [
    "EDITIONS",
    "MAX_DATA_LENGTH",
    "Group",
    "Item",
    "Packet",
    "decode",
    "decode_segment",
    "encode",
    "encode_segment",
    "flag_for",
    "merge_segments",
    "parse_time",
]

#: Editions this codec speaks, by Flag version bits V5..V0 (STD17 p.6; 2025 [2025-3P]).
EDITIONS: dict[int, str] = {0: "2005", 1: "2017", 2: "2025"}
_VERSION = {v: k for k, v in EDITIONS.items()}

#: The standard's limit on the data segment (Table 2: 0 ≤ n ≤ 1024). Real loggers exceed it
#: (1025, 1623 captured), so the codec's default maximum is a parameter, 4096 by default.
MAX_DATA_LENGTH = 4096

Group = tuple[tuple[str, str], ...]

_HEADER_NAMES = {
    "QN": "qn",
    "ST": "st",
    "CN": "cn",
    "PW": "pw",
    "MN": "mn",
    "FLAG": "flag",
    "PNUM": "pnum",
    "PNO": "pno",
    "RF": "rf",
}
_HEADER_SPLIT = re.compile(r"[;,]")
# A CP body: items separated by ';' (empty items allowed, e.g. a trailing ';'), each item
# one or more ','-separated fields, each field "key=value" (the key without '=').
_FIELD = r"[^;,=]*+=[^;,]*+"
_CP_OK = re.compile(rf"(?:{_FIELD}(?:,{_FIELD})*)?(?:;(?:{_FIELD}(?:,{_FIELD})*)?)*")
_SEPARATORS = re.compile(r"[;,]")


def _check_times(body: str, mn: str | None) -> None:
    """DataTime, BeginTime and EndTime must be valid times (checked at decode: a frame
    whose data time is unreadable cannot be stored against a time)."""
    for key in ("DataTime=", "BeginTime=", "EndTime="):
        i = body.find(key)
        while i >= 0:
            j = i + len(key)
            if i == 0 or body[i - 1] in ";, ":
                m = _SEPARATORS.search(body, j)
                value = body[j : m.start() if m else len(body)]
                try:
                    parse_time(value, key[:-1])
                except InputError as exc:
                    raise FrameError("bad_field", exc.message, mn=mn) from None
            i = body.find(key, j)


def _split_cp(body: str) -> tuple[Group, ...]:
    if not body:
        return ()
    return tuple(
        tuple((k, v) for k, _, v in (f.partition("=") for f in g.split(","))) if g else ()
        for g in body.split(";")
    )


def _join_cp(groups: tuple[Group, ...] | list[Group]) -> str:
    out = []
    for group in groups:
        fields = []
        for k, v in group:
            if _FORBIDDEN.search(k) or _FORBIDDEN_VALUE.search(v):
                raise InputError(f"CP {k}", "keys must not contain ';,=' nor values ';,'", v)
            fields.append(f"{k}={v}")
        out.append(",".join(fields))
    return ";".join(out)


def _group_mapping(cp: dict[str, str]) -> list[Group]:
    """Canonical grouping of a flat CP mapping: consecutive ``code-suffix`` keys of one
    code share an item (joined by ','); every other key is an item of its own."""
    groups: list[list[tuple[str, str]]] = []
    last = None
    for k, v in cp.items():
        code, sep, _ = k.rpartition("-")
        key = code if sep and code else None
        if key is not None and key == last and groups:
            groups[-1].append((k, v))
        else:
            groups.append([(k, v)])
        last = key
    return [tuple(g) for g in groups]


def parse_time(text: str, field_name: str = "time") -> dt.datetime:
    """Parse an HJ 212 time ``YYYYMMDDhhmmss`` (N14), also with milliseconds (17 digits).

    Raises
    ------
    bishui.errors.InputError
        If *text* is not such a time.
    """
    n = len(text)
    if (n == 14 or n == 17) and text.isdigit() and text.isascii():
        try:
            return dt.datetime(
                int(text[0:4]),
                int(text[4:6]),
                int(text[6:8]),
                int(text[8:10]),
                int(text[10:12]),
                int(text[12:14]),
                int(text[14:17]) * 1000 if n == 17 else 0,
            )
        except ValueError:
            pass
    raise InputError(field_name, "must be a time YYYYMMDDhhmmss (14 or 17 digits)", text)


def _number(text: str | None, name: str) -> Decimal | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise InputError(name, "must be a decimal number", text)
    return value


def _integer(text: str | None, name: str) -> int | None:
    if text is None or text.strip() == "":
        return None
    t = text.strip()
    if not (t.isascii() and t.lstrip("-").isdigit()):
        raise InputError(name, "must be an integer", text)
    return int(t)


@dataclass(frozen=True)
class Item:
    """One monitoring factor of a CP: ``w01018-Rtd=2.2,w01018-Flag=N`` → code + fields.

    ``fields`` maps the suffix (``Rtd``, ``Avg``, ``Flag``, ``SampleTime``, ``ZsAvg``, ``Info``,
    ``SN``, ``RS``, ``RT`` … and any suffix a device invents) to the exact string sent.
    """

    code: str
    fields: dict[str, str]
    edition: str = "2017"

    @property
    def kind(self) -> str:
        """``pollutant`` (w…, a…, noise), ``facility`` (SBn), ``info`` (i…), ``process``."""
        c = self.code
        if c[:2] == "SB":
            return "facility"
        if c[:1] in ("i", "I") and c[1:2].isdigit():
            return "info"
        if c[:1] in ("e", "g") and c[1:2].isdigit():
            return "process"
        return "pollutant"

    @property
    def code_2017(self) -> str:
        """The HJ 212-2017 code: a 2005 code mapped through Appendix B's 原编码 column."""
        from bishui.hj212.tables import code_2005_to_2017

        return (
            code_2005_to_2017().get(self.code, self.code) if self.edition == "2005" else self.code
        )

    def raw(self, suffix: str) -> str | None:
        """The exact string sent for ``<code>-<suffix>``, or ``None``."""
        return self.fields.get(suffix)

    def number(self, suffix: str) -> Decimal | None:
        """``<code>-<suffix>`` as an exact Decimal; ``None`` if absent or empty."""
        return _number(self.fields.get(suffix), f"{self.code}-{suffix}")

    rtd = property(lambda self: self.number("Rtd"), doc="real-time value (Rtd)")
    avg = property(lambda self: self.number("Avg"), doc="period average (Avg)")
    min = property(lambda self: self.number("Min"), doc="period minimum (Min)")
    max = property(lambda self: self.number("Max"), doc="period maximum (Max)")
    cou = property(lambda self: self.number("Cou"), doc="period cumulative amount (Cou)")
    zs_rtd = property(lambda self: self.number("ZsRtd"), doc="converted real-time (ZsRtd)")
    zs_avg = property(lambda self: self.number("ZsAvg"), doc="converted average (ZsAvg)")
    zs_min = property(lambda self: self.number("ZsMin"), doc="converted minimum (ZsMin)")
    zs_max = property(lambda self: self.number("ZsMax"), doc="converted maximum (ZsMax)")
    rt = property(lambda self: self.number("RT"), doc="facility hours run per day (RT) [h]")

    @property
    def flag(self) -> str | None:
        """Data flag (``-Flag``, Table 8: N F M S D C T B), also accepted as ``-flag``."""
        f = self.fields.get("Flag")
        return self.fields.get("flag") if f is None else f

    @property
    def eflag(self) -> str | None:
        return self.fields.get("EFlag")

    @property
    def rs(self) -> int | None:
        """Facility state (``SBxxx-RS``): 0 off, 1 running, 2 calibrating, 3 maintenance …"""
        return _integer(self.fields.get("RS"), f"{self.code}-RS")

    @property
    def sample_time(self) -> dt.datetime | None:
        t = self.fields.get("SampleTime")
        return None if t is None else parse_time(t, f"{self.code}-SampleTime")


@dataclass(frozen=True)
class Packet:
    """One HJ 212 data segment, decoded.

    Header fields are typed (``flag``, ``pnum``, ``pno`` are ints); ``qn`` and ``rf`` are the
    strings sent (``None`` when absent). ``cp`` is the CP body exactly as sent (the text
    between ``CP=&&`` and ``&&``); :attr:`cp_groups`, :attr:`cp_dict`, :meth:`items` and the
    typed properties parse it on demand. Build packets with :meth:`Packet.make`.
    ``crc`` is the CRC text of the received frame (not part of equality).
    """

    st: str
    cn: str
    pw: str
    mn: str
    cp: str = ""
    qn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    rf: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # unknown header fields, in order
    crc: str | None = field(default=None, compare=False)
    crc_variant: str | None = field(default=None, compare=False)

    @classmethod
    def make(
        cls,
        *,
        st: str,
        cn: str,
        pw: str,
        mn: str,
        cp: str | dict[str, str] | list[Group] | tuple[Group, ...] = "",
        qn: str | None = None,
        flag: int | None = None,
        pnum: int | None = None,
        pno: int | None = None,
        rf: str | None = None,
    ) -> Packet:
        """Build a packet; *cp* may be the body text, a flat mapping (grouped canonically:
        consecutive fields of one code share an item) or a sequence of groups.

        Raises
        ------
        bishui.errors.InputError
            If a key or value contains a separator.
        """
        if isinstance(cp, dict):
            body = _join_cp(_group_mapping(cp))
        elif isinstance(cp, str):
            body = cp
        else:
            body = _join_cp(list(cp))
        return cls(st=st, cn=cn, pw=pw, mn=mn, cp=body, qn=qn, flag=flag, pnum=pnum, pno=pno, rf=rf)

    # -- header -----------------------------------------------------------------------
    @property
    def version(self) -> int | None:
        """Flag bits V5..V0 (0 = HJ/T 212-2005, 1 = 2017, 2 = 2025); ``None`` without Flag."""
        return None if self.flag is None else self.flag >> 2

    @property
    def edition(self) -> str:
        """``"2005"``, ``"2017"``, ``"2025"`` or ``"unknown"`` (version bits ≥ 3).

        No Flag ⇒ ``"2005"`` (HJ/T 212-2005 uploads carry none).
        """
        v = self.version
        return "2005" if v is None else EDITIONS.get(v, "unknown")

    @property
    def ack_requested(self) -> bool:
        """Flag bit A (bit 0): the sender wants an answer (STD17 Table 3 note)."""
        return self.flag is not None and bool(self.flag & 1)

    @property
    def is_segment(self) -> bool:
        """Part of a segmented upload (PNUM > 1, or Flag bit D with PNUM/PNO)."""
        return self.pnum is not None and self.pnum > 1

    @property
    def reply_qn(self) -> str | None:
        """The QN an answer refers to: the header QN, or (HJ/T 212-2005 answers) ``CP QN=``."""
        return self.qn if self.qn is not None else self.get("QN")

    @property
    def is_backfill(self) -> bool:
        """HJ 212-2025 ``RF=1``: a re-sent (补传) packet."""
        return self.rf == "1"

    # -- CP ---------------------------------------------------------------------------
    def _cache(self) -> dict[str, Any]:
        c: dict[str, Any] | None = self.__dict__.get("_c")
        if c is None:
            c = {}
            object.__setattr__(self, "_c", c)
        return c

    @property
    def cp_groups(self) -> tuple[Group, ...]:
        """The CP as sent: items (``;``-separated) of ``(key, value)`` fields (``,``)."""
        c = self._cache()
        g: tuple[Group, ...] | None = c.get("groups")
        if g is None:
            g = c["groups"] = _split_cp(self.cp)
        return g

    @property
    def cp_dict(self) -> dict[str, str]:
        """Every CP key → its value as sent (the first occurrence wins on duplicates)."""
        c = self._cache()
        d: dict[str, str] | None = c.get("cp")
        if d is None:
            d = {}
            for group in self.cp_groups:
                for k, v in group:
                    d.setdefault(k.strip(), v)
            c["cp"] = d
        return d

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of CP key *key* as sent (``DataTime``, ``w01018-Rtd``, ``QnRtn`` …)."""
        return self.cp_dict.get(key, default)

    def time(self, key: str) -> dt.datetime | None:
        """CP key *key* parsed as an HJ 212 time; ``None`` if absent."""
        t = self.get(key)
        return None if t is None else parse_time(t, key)

    def integer(self, key: str) -> int | None:
        """CP key *key* as an integer (QnRtn, ExeRtn, RtdInterval …); ``None`` if absent."""
        return _integer(self.get(key), key)

    data_time = property(
        lambda self: self.time("DataTime"), doc="DataTime (period start for 2031/2051/2061)"
    )
    begin_time = property(lambda self: self.time("BeginTime"), doc="BeginTime of a history request")
    end_time = property(lambda self: self.time("EndTime"), doc="EndTime of a history request")
    system_time = property(lambda self: self.time("SystemTime"), doc="SystemTime (1011/1012)")
    restart_time = property(lambda self: self.time("RestartTime"), doc="RestartTime (2081)")
    qn_rtn = property(lambda self: self.integer("QnRtn"), doc="QnRtn (9011, Table 7)")
    exe_rtn = property(lambda self: self.integer("ExeRtn"), doc="ExeRtn (9012, Table 6)")
    rtd_interval = property(lambda self: self.integer("RtdInterval"), doc="RtdInterval [s]")
    min_interval = property(lambda self: self.integer("MinInterval"), doc="MinInterval [min]")

    def items(self) -> dict[str, Item]:
        """Every ``code-suffix=value`` field grouped by code, in order of appearance."""
        c = self._cache()
        out: dict[str, Item] | None = c.get("items")
        if out is None:
            fields: dict[str, dict[str, str]] = {}
            for group in self.cp_groups:
                for k, v in group:
                    code, sep, suffix = k.strip().rpartition("-")
                    if sep and code:
                        fields.setdefault(code, {}).setdefault(suffix.strip(), v)
            ed = self.edition
            out = {code: Item(code, f, ed) for code, f in fields.items()}
            c["items"] = out
        return out

    def values(self, suffix: str = "Rtd") -> dict[str, Decimal | None]:
        """code → ``<code>-<suffix>`` as Decimal, for every item that carries *suffix*."""
        return {c: it.number(suffix) for c, it in self.items().items() if suffix in it.fields}

    def flags(self) -> dict[str, str]:
        """code → data flag, for every item that carries one."""
        return {c: f for c, it in self.items().items() if (f := it.flag) is not None}


def flag_for(edition: str, *, ack: bool = False, segmented: bool = False) -> int:
    """The Flag value for an edition: version bits ≪ 2 | D ≪ 1 | A (STD17 p.6)."""
    if edition not in _VERSION:
        raise InputError("edition", f"must be one of {', '.join(_VERSION)}", edition)
    return (_VERSION[edition] << 2) | (2 if segmented else 0) | (1 if ack else 0)


# ---------------------------------------------------------------------------------------
# decoding


def decode_segment(seg: bytes, *, crc: str | None = None, crc_variant: str | None = None) -> Packet:
    """Decode one data segment (no framing, no CRC check).

    Raises
    ------
    FrameError
        ``bad_header`` or ``bad_field``.
    """
    try:
        text = seg.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError("bad_header", f"data segment is not UTF-8 at byte {exc.start}") from None
    idx = text.find("CP=&&")
    if idx < 0 or len(text) < idx + 7 or not text.endswith("&&"):
        mn = peek_mn(text)
        raise FrameError("bad_header", "data segment lacks CP=&&…&&", mn=mn)
    extra: tuple[tuple[str, str], ...] = ()
    m = _CANONICAL_HEADER.fullmatch(text, 0, idx)
    if m is not None:  # the common case, in one regex
        qn, st, cn, pw, mn, flag_s, pnum_s, pno_s = m.groups()
        flag: int | None = int(flag_s)
        if int(flag_s) > 255:
            raise FrameError("bad_field", f"Flag must be an integer 0..255 (got {flag})", mn=mn)
        pnum = None if pnum_s is None else int(pnum_s)
        pno = None if pno_s is None else int(pno_s)
        rf = None
    else:
        hdr, extra = _parse_header(text[:idx])
        mn = hdr.get("mn")
        for required in ("st", "cn", "pw", "mn"):
            if required not in hdr:
                raise FrameError("bad_header", f"header lacks {required.upper()}", mn=mn)
        qn, st, cn, pw, mn = hdr.get("qn"), hdr["st"], hdr["cn"], hdr["pw"], hdr["mn"]
        flag = _header_int(hdr.get("flag"), "Flag", 255, mn)
        pnum = _header_int(hdr.get("pnum"), "PNUM", 9999, mn)
        pno = _header_int(hdr.get("pno"), "PNO", 9999, mn)
        rf = hdr.get("rf")
    if (pnum is None) != (pno is None) or (
        pnum is not None and pno is not None and not 1 <= pno <= pnum
    ):
        raise FrameError("bad_field", f"PNUM={pnum} PNO={pno}: PNO must be 1..PNUM", mn=mn)
    body = text[idx + 5 : -2]
    if body and _CP_OK.fullmatch(body) is None:
        bad = next(it for g in body.split(";") if g for it in g.split(",") if "=" not in it)
        raise FrameError("bad_field", f"CP item without '=': {bad[:40]!r}", mn=mn)
    if "Time=" in body:
        _check_times(body, mn)
    # equivalent to Packet(...), without the per-field cost of a frozen dataclass __init__
    p: Packet = object.__new__(Packet)
    p.__dict__.update(
        st=st,
        cn=cn,
        pw=pw,
        mn=mn,
        cp=body,
        qn=qn,
        flag=flag,
        pnum=pnum,
        pno=pno,
        rf=rf,
        extra=extra,
        crc=crc,
        crc_variant=crc_variant,
    )
    return p


# QN;ST;CN;PW;MN;Flag;[PNUM;PNO;] exactly as HJ 212-2017 Appendix C writes them
_CANONICAL_HEADER = re.compile(
    r"QN=([0-9]{17});ST=([^;,=]+);CN=([^;,=]+);PW=([^;,=]+);MN=([^;,=]+);Flag=([0-9]{1,3});"
    r"(?:PNUM=([0-9]{1,4});PNO=([0-9]{1,4});)?"
)


def _parse_header(head: str) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    hdr: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for part in _HEADER_SPLIT.split(head):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise FrameError("bad_header", f"header field without '=': {part[:40]!r}")
        key = _HEADER_NAMES.get(name.strip().upper())
        if "=" in value:  # "PW=a=b": no field value may hold a separator (Table 2)
            mn = hdr.get("mn") if key != "mn" else None
            raise FrameError("bad_field", f"header field {name} holds '=': {part[:40]!r}", mn=mn)
        if key is None:
            extra.append((name, value))
        elif key in hdr:
            raise FrameError("bad_header", f"header field {name} repeated")
        else:
            hdr[key] = value
    return hdr, tuple(extra)


def _header_int(text: str | None, name: str, top: int, mn: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > top:
        raise FrameError(
            "bad_field", f"{name} must be an integer 0..{top} (got {text[:20]!r})", mn=mn
        )
    return int(text)


_MN = re.compile(rb"MN=([^;,&]{1,64})")


def peek_mn(text: str | bytes) -> str | None:
    """The MN of a data segment that may not parse, for error reports and CRC policy."""
    b = text.encode("utf-8", "replace") if isinstance(text, str) else text
    m = _MN.search(b)
    return m.group(1).decode("utf-8", "replace") if m else None


def decode(
    frame: bytes,
    *,
    crc_policy: str | frozenset[str] = "hj212",
    max_data_length: int = MAX_DATA_LENGTH,
) -> Packet:
    """Decode one complete frame ``##LLLL…CCCC\\r\\n`` and check its CRC.

    Parameters
    ----------
    frame : bytes
        Exactly one frame (CR LF included; a bare LF is accepted).
    crc_policy : str or frozenset of str
        Allowed CRC variants (``bishui.hj212.crc.POLICIES``), default strict ``"hj212"``.
    max_data_length : int
        Largest data segment accepted [bytes].

    Raises
    ------
    FrameError
        With ``reason`` one of ``not_hj212``, ``bad_length``, ``too_long``, ``truncated``,
        ``crc_mismatch``, ``bad_header``, ``bad_field``.
    """
    if frame[:2] != b"##":
        raise FrameError("not_hj212", "frame does not start with '##'")
    if len(frame) < 6:
        raise FrameError("truncated", f"frame ends after {len(frame)} bytes")
    head = frame[2:6]
    if not (head.isdigit()):
        raise FrameError("bad_length", f"length field {head!r} is not 4 decimal digits")
    n = int(head)
    if n > max_data_length:
        raise FrameError(
            "too_long", f"data segment length {n} exceeds the maximum {max_data_length}"
        )
    end = 10 + n
    tail = frame[end:]
    if len(frame) < end + 1:
        raise FrameError("truncated", f"frame of declared length {n} ends after {len(frame)} bytes")
    if tail not in (b"\r\n", b"\n"):
        if len(tail) < 2 and tail != b"\r":
            raise FrameError("truncated", f"frame of declared length {n} lacks CR LF")
        raise FrameError("bad_length", f"no CR LF where the length field ({n}) says the frame ends")
    return check_and_decode(frame[6 : 6 + n], frame[6 + n : end], crc_policy)


def check_and_decode(
    seg: bytes, crc_text: bytes, crc_policy: str | frozenset[str] = "hj212"
) -> Packet:
    """Check *crc_text* against *seg* under *crc_policy*, then decode *seg*."""
    if crc_policy == "hj212" and crc_text.upper() == b"%04X" % hj212_crc(seg):  # common case
        return decode_segment(seg, crc=crc_text.decode("ascii"), crc_variant="hj212")
    if not isinstance(crc_policy, str | frozenset):  # a list or tuple of policy names
        crc_policy = parse_policy(crc_policy)
    variants = parse_policy(crc_policy) if isinstance(crc_policy, str) else crc_policy
    variant = matching_variant(seg, crc_text, variants)
    if variant is None:
        raise FrameError(
            "crc_mismatch",
            f"CRC {crc_text.decode('ascii', 'replace')!r} does not match the data segment "
            f"(HJ 212 CRC {crc_hex(seg)}; policy {','.join(sorted(variants))})",
            mn=peek_mn(seg),
        )
    return decode_segment(seg, crc=crc_text.decode("ascii", "replace"), crc_variant=variant)


# ---------------------------------------------------------------------------------------
# encoding

_FORBIDDEN = re.compile(r"[;,=]")
_FORBIDDEN_VALUE = re.compile(r"[;,]")


def encode_segment(p: Packet) -> str:
    """The canonical data segment of *p*: QN;ST;CN;PW;MN;Flag;PNUM;PNO;RF;…;CP=&&…&&.

    Raises
    ------
    bishui.errors.InputError
        If a field would not survive decoding (contains ``;``, ``,`` or ``=``).
    """
    parts = []
    for name, value in (
        ("QN", p.qn),
        ("ST", p.st),
        ("CN", p.cn),
        ("PW", p.pw),
        ("MN", p.mn),
        ("Flag", p.flag),
        ("PNUM", p.pnum),
        ("PNO", p.pno),
        ("RF", p.rf),
        *p.extra,
    ):
        if value is None:
            continue
        s = str(value)
        if _FORBIDDEN.search(s) or "CP=&&" in s:
            raise InputError(name, "must not contain ';', ',' or '='", s)
        parts.append(f"{name}={s};")
    if p.cp and _CP_OK.fullmatch(p.cp) is None:
        raise InputError("CP", "must be items key=value separated by ';' and ','", p.cp)
    return "".join(parts) + "CP=&&" + p.cp + "&&"


def encode(p: Packet, *, crc_variant: str = "hj212") -> bytes:
    """The frame for *p*: ``##`` + length + segment + CRC + CR LF (HJ 212-2017 Table 2).

    ``crc_variant`` lets the simulator write the variants real loggers use
    (``hj212`` upper-case, ``hj212_lower``, ``modbus``, ``modbus_swapped``, ``bad``).
    """
    seg = encode_segment(p).encode("utf-8")
    if len(seg) > 9999:
        raise InputError(
            "data segment", "must be at most 9999 bytes; segment with PNUM/PNO", len(seg)
        )
    from bishui.hj212.crc import hj212_crc, modbus_crc

    if crc_variant == "hj212":
        crc = b"%04X" % hj212_crc(seg)
    elif crc_variant == "hj212_lower":
        crc = b"%04x" % hj212_crc(seg)
    elif crc_variant == "modbus":
        crc = b"%04X" % modbus_crc(seg)
    elif crc_variant == "modbus_swapped":
        m = modbus_crc(seg)
        crc = b"%04X" % (((m & 0xFF) << 8) | (m >> 8))
    elif crc_variant == "bad":
        crc = b"%04X" % (hj212_crc(seg) ^ 0x0100)
    else:
        raise InputError("crc_variant", "unknown variant", crc_variant)
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc)


def merge_segments(parts: list[Packet]) -> Packet:
    """Reassemble a segmented upload (PNUM/PNO, STD17 Table 3; Appendix C.47–C.50).

    CP of PNO=1, then the CPs of the later packets without their repeated leading
    ``DataTime=`` group. Header fields are those of PNO=1, without PNUM/PNO and Flag bit D.
    """
    parts = sorted(parts, key=lambda q: q.pno or 0)
    first = parts[0]
    groups = list(first.cp_groups)
    for q in parts[1:]:
        cp = list(q.cp_groups)
        if cp and len(cp[0]) == 1 and cp[0][0][0].strip() == "DataTime":
            cp = cp[1:]
        groups.extend(cp)
    flag = None if first.flag is None else first.flag & ~2
    return Packet(
        st=first.st,
        cn=first.cn,
        pw=first.pw,
        mn=first.mn,
        cp=_join_cp(groups),
        qn=first.qn,
        flag=flag,
        rf=first.rf,
        extra=first.extra,
    )

"""Simulated data loggers (数采仪) speaking HJ 212 to a gateway, built on the same session.

Each :class:`SimulatedLogger` has an MN, a PW, a system code (ST 21 water station, 22 air
station, 31 air source, 32 water source) and a pollutant set. It produces real-time (2011),
minute (2051), hourly (2061) and daily (2031) records on their schedules — in simulated time,
which can run faster than real time (``speed``) — keeps every record that asks for an answer
until its 9014 arrives (resending on timeout, backfilling after a reconnect, HJ 212-2025
``RF=1`` on resends), reconnects with exponential backoff, and answers platform requests
(9011, the data asked for, 9012).

Values come from a pluggable source ``values(mn, code, time) -> (value, flag)`` so the
model-city generator can drive the loggers; :func:`default_values` is a simple deterministic
one. On request a logger misbehaves the way real ones do (``misbehave``):

``bad_crc``         some frames carry a wrong CRC (resent correctly after the timeout)
``split``           frames are written in several pieces
``merge``           several frames go out in one write (needs a window > 1)
``duplicate``       some frames are sent twice
``late``            the backlog is sent out of order
``flags``           some values carry flags F, M, S, D, C, T, B
``wrong_password``  the logger uses a wrong PW (everything is rejected)
``garbage``         noise bytes between frames
``slow_drip``       bytes trickle out one small write at a time
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bishui.hj212.codec import Packet, flag_for
from bishui.hj212.session import (
    Acknowledged,
    AckTimedOut,
    PacketReceived,
    Session,
)

__all__ = [
    "AIR_STATION",
    "MISBEHAVIOURS",
    "LoggerConfig",
    "SimClock",
    "SimulatedLogger",
    "ValueSource",
    "default_values",
    "run_fleet",
]

#: ``(mn, code, time) -> (value, flag)``; value ``None`` means "no value this time".
ValueSource = Callable[[str, str, dt.datetime], tuple[float | Decimal | str | None, str]]

MISBEHAVIOURS = frozenset(
    {
        "bad_crc",
        "split",
        "merge",
        "duplicate",
        "late",
        "flags",
        "wrong_password",
        "garbage",
        "slow_drip",
    }
)
AIR_STATION = ("a34004", "a34002", "a21026", "a21004", "a21005", "a05024")
WATER_STATION = ("w01001", "w01009", "w01019", "w21003", "w21011", "w21001", "w01010")
AIR_SOURCE = ("a00000", "a21026", "a21002", "a34013", "a19001", "a01012", "a01011")
WATER_SOURCE = ("w00000", "w01018", "w21003", "w21011", "w21001", "w01001")
DEFAULT_POLLUTANTS = {"22": AIR_STATION, "21": WATER_STATION, "31": AIR_SOURCE, "32": WATER_SOURCE}

# typical magnitudes for the default source (value, spread): plausible, not measured
_TYPICAL = {
    "a34004": (35, 20),
    "a34002": (60, 30),
    "a21026": (8, 5),
    "a21004": (25, 12),
    "a21005": (0.7, 0.3),
    "a05024": (90, 40),
    "w01001": (7.5, 0.5),
    "w01009": (8, 2),
    "w01019": (3, 1),
    "w21003": (0.4, 0.3),
    "w21011": (0.1, 0.05),
    "w21001": (1.2, 0.5),
    "w01010": (18, 6),
    "w00000": (20, 8),
    "w01018": (40, 15),
    "a00000": (30, 10),
    "a21002": (80, 30),
    "a34013": (8, 4),
    "a19001": (9, 2),
    "a01012": (120, 20),
    "a01011": (12, 3),
}


def default_values(mn: str, code: str, t: dt.datetime) -> tuple[float, str]:
    """A deterministic plausible value for (mn, code, t) with flag ``N``."""
    h = hashlib.blake2b(f"{mn}|{code}|{t:%Y%m%d%H%M%S}".encode(), digest_size=8).digest()
    u = int.from_bytes(h, "big") / 2**64
    mean, spread = _TYPICAL.get(code, (50, 25))
    return max(0.0, mean + (u - 0.5) * 2 * spread), "N"


@dataclass(frozen=True)
class LoggerConfig:
    """One simulated logger."""

    mn: str
    pw: str = "123456"
    st: str = "22"
    pollutants: tuple[str, ...] = AIR_STATION
    edition: str = "2017"
    schedules: tuple[str, ...] = ("2051", "2061")  # of 2011, 2051, 2061, 2031
    rtd_interval: int = 30  # [s]
    min_interval: int = 10  # [min]
    ack: bool = True  # Flag bit A on uploads
    misbehave: frozenset[str] = frozenset()
    backfill: int = 0  # minute records queued at start (history not yet delivered)
    window: int = 1  # uploads in flight before waiting for their 9014s

    @classmethod
    def fleet(
        cls,
        n: int,
        *,
        mn_prefix: str = "SIM",
        pw: str = "123456",
        misbehave: Iterable[str] = (),
        **kw: Any,
    ) -> list[LoggerConfig]:
        """*n* loggers cycling through the four site types (ST 22, 21, 31, 32)."""
        bad = set(misbehave) - MISBEHAVIOURS
        if bad:
            from bishui.errors import InputError

            raise InputError("misbehave", f"must be among {sorted(MISBEHAVIOURS)}", sorted(bad))
        sts = ("22", "21", "31", "32")
        return [
            cls(
                mn=f"{mn_prefix}{i:0{max(4, len(str(n)))}d}",
                pw=pw,
                st=sts[i % 4],
                pollutants=DEFAULT_POLLUTANTS[sts[i % 4]],
                misbehave=frozenset(misbehave),
                **kw,
            )
            for i in range(n)
        ]


class SimClock:
    """Simulated Beijing time running *speed* times faster than the real clock."""

    def __init__(self, start: dt.datetime, speed: float = 1.0) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed


def _decimals(code: str) -> int:
    from bishui.hj212.tables import pollutants

    p = pollutants().get(code)
    if p is not None and "." in p.data_type:
        return int(p.data_type.split(".")[1])
    return 3


@dataclass
class _Stats:
    generated: int = 0
    sent: int = 0
    acked: int = 0
    resent: int = 0
    connects: int = 0
    requests: int = 0
    rejected_silently: int = 0
    acked_keys: set[tuple[str, str]] = field(default_factory=set)


class SimulatedLogger:
    """One logger: generates records on its schedules, delivers them until acknowledged.

    Parameters
    ----------
    config : LoggerConfig
    host, port : str, int
        The gateway.
    clock : SimClock
    values : ValueSource
    seed : int
    ack_timeout : float [s]
        Real seconds to wait for a 9014 before resending (and, after ``retries``,
        reconnecting).
    """

    def __init__(
        self,
        config: LoggerConfig,
        host: str,
        port: int,
        *,
        clock: SimClock,
        values: ValueSource = default_values,
        seed: int = 0,
        ack_timeout: float = 5.0,
        retries: int = 3,
        max_backoff: float = 30.0,
        max_backlog: int = 100_000,
    ) -> None:
        self.config = config
        self.host, self.port = host, port
        self.clock = clock
        self.values = values
        self.rng = random.Random(f"{seed}|{config.mn}")
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.max_backoff = max_backoff
        self.backlog: deque[Packet] = deque(maxlen=max_backlog)
        self.stats = _Stats()
        self._decimals = {c: _decimals(c) for c in config.pollutants}
        self._qn_seq = 0
        self._next: dict[str, dt.datetime] = {}
        self._flag = flag_for(config.edition, ack=config.ack)
        self.rtd_interval = config.rtd_interval
        self.min_interval = config.min_interval
        self.pw = "wrong!" if "wrong_password" in config.misbehave else config.pw
        self._clock_offset = dt.timedelta(0)
        start = clock.now()
        for k in range(config.backfill, 0, -1):
            t = _floor(start, 60 * self.min_interval) - dt.timedelta(minutes=self.min_interval * k)
            self.backlog.append(self.record("2051", t))

    # -- records --------------------------------------------------------------------------
    def _qn(self, t: dt.datetime) -> str:
        self._qn_seq = (self._qn_seq + 1) % 1000
        return t.strftime("%Y%m%d%H%M%S") + f"{self._qn_seq:03d}"

    def record(self, cn: str, t: dt.datetime, *, rf: bool = False) -> Packet:
        """The upload of type *cn* (2011/2051/2061/2031) for data time *t*."""
        cfg = self.config
        cp: dict[str, str] = {"DataTime": t.strftime("%Y%m%d%H%M%S")}
        flags = "flags" in cfg.misbehave
        for code in cfg.pollutants:
            value, flag = self.values(cfg.mn, code, t)
            if value is None:
                continue
            if flags and self.rng.random() < 0.1:
                flag = self.rng.choice("FMSDCTB")
            text = value if isinstance(value, str) else f"{float(value):.{self._decimals[code]}f}"
            if cn == "2011":
                cp[f"{code}-Rtd"] = text
            else:
                cp[f"{code}-Min"] = text
                cp[f"{code}-Avg"] = text
                cp[f"{code}-Max"] = text
            cp[f"{code}-Flag"] = flag
        self.stats.generated += 1
        rf_field = "1" if rf and cfg.edition == "2025" else None
        return Packet.make(
            qn=self._qn(self.clock.now() + self._clock_offset),
            st=cfg.st,
            cn=cn,
            pw=self.pw,
            mn=cfg.mn,
            flag=self._flag,
            cp=cp,
            rf=rf_field,
        )

    def due_records(self, now: dt.datetime) -> list[Packet]:
        """Records whose period has ended by *now* (DataTime = period start, STD17 §6.3)."""
        out = []
        periods = {
            "2011": self.rtd_interval,
            "2051": 60 * self.min_interval,
            "2061": 3600,
            "2031": 86400,
        }
        for cn in self.config.schedules:
            step = periods[cn]
            nxt = self._next.get(cn)
            if nxt is None:
                nxt = self._next[cn] = _floor(now, step) + dt.timedelta(seconds=step)
            while now >= nxt:
                start = nxt if cn == "2011" else nxt - dt.timedelta(seconds=step)
                out.append(self.record(cn, start))
                nxt += dt.timedelta(seconds=step)
            self._next[cn] = nxt
        return out

    # -- the connection loop -----------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, until_drained: bool = False) -> None:
        """Connect, deliver, reconnect with backoff until *stop* is set (or, with
        *until_drained*, until the backlog is empty)."""
        backoff = 0.2
        while not stop.is_set():
            if until_drained and not self.backlog:
                return
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await _sleep_or_stop(stop, backoff * (0.5 + self.rng.random()))
                backoff = min(self.max_backoff, backoff * 2)
                continue
            self.stats.connects += 1
            backoff = 0.2
            try:
                await self._converse(reader, writer, stop, until_drained)
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            if until_drained and not self.backlog:
                return
            await _sleep_or_stop(stop, backoff * (0.5 + self.rng.random()))

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        mis = self.config.misbehave
        if "garbage" in mis and self.rng.random() < 0.3:
            writer.write(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 40))))
        if "slow_drip" in mis:
            for i in range(0, len(data), 16):
                writer.write(data[i : i + 16])
                await writer.drain()
                await asyncio.sleep(0.002)
            return
        if "split" in mis and len(data) > 4:
            cut = self.rng.randrange(1, len(data))
            writer.write(data[:cut])
            await writer.drain()
            await asyncio.sleep(0.001)
            writer.write(data[cut:])
        else:
            writer.write(data)
        await writer.drain()

    async def _converse(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stop: asyncio.Event,
        until_drained: bool,
    ) -> None:
        cfg = self.config
        session = Session("device", timeout=self.ack_timeout, retries=self.retries)
        mis = cfg.misbehave
        in_flight: dict[str, Packet] = {}
        next_due = 0.0
        try:
            while not stop.is_set():
                if time.monotonic() >= next_due:  # schedules checked a few times a second
                    next_due = time.monotonic() + 0.1
                    self.backlog.extend(self.due_records(self.clock.now()))
                if until_drained and not self.backlog and not in_flight:
                    return
                # send while the window allows
                batch = []
                window = max(cfg.window, 3 if "merge" in mis else 1) if cfg.ack else 1 << 30
                if "late" in mis and len(self.backlog) > 2 and self.rng.random() < 0.3:
                    self.backlog.rotate(-1)
                while self.backlog and len(in_flight) < window:
                    p = self.backlog.popleft()
                    crc = "bad" if "bad_crc" in mis and self.rng.random() < 0.2 else "hj212"
                    raw = session.send_upload(p, now=time.monotonic())
                    if crc == "bad":  # first transmission corrupted; the resend is good
                        raw = _enc(p, "bad")
                    self.stats.sent += 1
                    if cfg.ack:
                        in_flight[p.qn or ""] = p
                    batch.append(raw)
                    if "duplicate" in mis and self.rng.random() < 0.1:
                        batch.append(raw)
                if batch:
                    if "merge" in mis:
                        await self._write(writer, b"".join(batch))
                    else:
                        for raw in batch:
                            await self._write(writer, raw)
                try:
                    async with asyncio.timeout(0.05 if in_flight else 0.2):
                        data = await reader.read(65536)
                except TimeoutError:
                    data = None
                if data == b"":
                    return
                events = session.receive_data(data) if data else []
                events += session.tick(time.monotonic())
                for ev in events:
                    if isinstance(ev, Acknowledged):
                        p2 = in_flight.pop(ev.qn, None)
                        if p2 is not None:
                            self.stats.acked += 1
                            self.stats.acked_keys.add((p2.cn, p2.get("DataTime") or ""))
                    elif isinstance(ev, AckTimedOut):
                        # give up on this connection; requeue what is unanswered (backfill)
                        self._requeue(in_flight)
                        return
                    elif isinstance(ev, PacketReceived) and _is_request(ev.packet):
                        await self._request(session, writer, ev.packet)
                resend = session.data_to_send()
                if resend:
                    self.stats.resent += 1
                    await self._write(writer, resend)
        finally:
            self._requeue(in_flight)

    def _requeue(self, in_flight: dict[str, Packet]) -> None:
        rf = self.config.edition == "2025"
        for p in reversed(list(in_flight.values())):
            if rf:
                p = Packet(
                    st=p.st, cn=p.cn, pw=p.pw, mn=p.mn, cp=p.cp, qn=p.qn, flag=p.flag, rf="1"
                )
            self.backlog.appendleft(p)
        in_flight.clear()

    async def _request(self, session: Session, writer: asyncio.StreamWriter, req: Packet) -> None:
        """Answer a platform request: 9011, then what it asks for, then 9012 (STD17 §6.1)."""
        self.stats.requests += 1
        cn = req.cn
        out = [session.answer_request(req, 1)]
        exe = 1
        now = self.clock.now() + self._clock_offset
        cfg = self.config
        ver = flag_for(cfg.edition)

        def upload(cp: dict[str, str]) -> bytes:
            p = Packet.make(qn=req.qn, st=cfg.st, cn=cn, pw=self.pw, mn=cfg.mn, flag=ver, cp=cp)
            return _enc(p)

        if cn == "1011":
            out.append(upload({"SystemTime": f"{now:%Y%m%d%H%M%S}"}))
        elif cn == "1012" and req.system_time is not None:
            self._clock_offset = req.system_time - self.clock.now()
        elif cn == "1061":
            out.append(upload({"RtdInterval": str(self.rtd_interval)}))
        elif cn == "1062" and req.rtd_interval:
            self.rtd_interval = req.rtd_interval
        elif cn == "1063":
            out.append(upload({"MinInterval": str(self.min_interval)}))
        elif cn == "1064" and req.min_interval:
            self.min_interval = req.min_interval
        elif cn in ("2031", "2051", "2061") and req.begin_time and req.end_time:
            step = {"2031": 86400, "2051": 60 * self.min_interval, "2061": 3600}[cn]
            t = _floor(req.begin_time, step)
            n = 0
            while t <= req.end_time and n < 1000:
                self.backlog.append(self.record(cn, t, rf=True))
                t += dt.timedelta(seconds=step)
                n += 1
            exe = 1 if n else 100
        for raw in out:
            await self._write(writer, raw)
        await self._write(writer, session.finish_request(req, exe))


def _enc(p: Packet, crc_variant: str = "hj212") -> bytes:
    from bishui.hj212.codec import encode

    return encode(p, crc_variant=crc_variant)


def _is_request(p: Packet) -> bool:
    from bishui.hj212.tables import commands

    c = commands().get(p.cn)
    return c is not None and c.platform_sends == "request"


def _floor(t: dt.datetime, step: int) -> dt.datetime:
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    secs = int((t - midnight).total_seconds()) // step * step
    return midnight + dt.timedelta(seconds=secs)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_fleet(
    configs: list[LoggerConfig],
    host: str,
    port: int,
    *,
    duration: float | None = 60.0,
    speed: float = 1.0,
    seed: int = 0,
    values: ValueSource = default_values,
    start: dt.datetime | None = None,
    until_drained: bool = False,
    ack_timeout: float = 5.0,
) -> dict[str, Any]:
    """Run every logger of *configs* against ``host:port`` for *duration* real seconds
    (or until every backlog is delivered); returns summed statistics."""
    from bishui.timeutil import now_beijing

    clock = SimClock(start or now_beijing(), speed)
    loggers = [
        SimulatedLogger(
            c, host, port, clock=clock, values=values, seed=seed, ack_timeout=ack_timeout
        )
        for c in configs
    ]
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(lg.run(stop, until_drained=until_drained)) for lg in loggers]
    if duration is not None:
        _, pending = await asyncio.wait(tasks, timeout=duration)
        stop.set()
        await asyncio.gather(*pending, return_exceptions=True)
    else:
        await asyncio.gather(*tasks)
    total: dict[str, Any] = {"loggers": len(loggers)}
    for k in ("generated", "sent", "acked", "resent", "connects", "requests"):
        total[k] = sum(getattr(lg.stats, k) for lg in loggers)
    total["backlog"] = sum(len(lg.backlog) for lg in loggers)
    return total

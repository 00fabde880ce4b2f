"""The process's metrics in the Prometheus text exposition format (version 0.0.4).

Every bishui process keeps its own counters here — a gateway its frames and acknowledgements,
a writer its batches and commit times, a web process its request latency — and shows them at
``/metrics``: the web app's route (admin only, ``bishui.web``), or a small listener of its own
(:func:`serve`, ``--metrics-port``, bound to 127.0.0.1 by default) for the processes without
the web. Prometheus scrapes each process; nothing is shared between processes (docs/deploy.md).

Written here rather than taken from a library: three metric kinds, labels, a lock and the
text format are all the platform needs.

>>> r = Registry()
>>> c = r.counter("bishui_demo_total", "demo counter", ("kind",))
>>> c.inc(kind="a")
>>> print(r.render().splitlines()[2])
bishui_demo_total{kind="a"} 1
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Sequence

#: One sample a collector yields at scrape time: (suffix, labels, value).
Sample = tuple[str, dict[str, str], float]
#: A family a collector yields: (name, type, help, samples).
Family = tuple[str, str, str, list[Sample]]

#: Default latency buckets [s]: a web request, a commit.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: Default size buckets: messages in a writer's batch.
SIZE_BUCKETS: tuple[float, ...] = (1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if float(v).is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(float(v))


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help, tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {list(self.label_names)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def lines(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up (``…_total``)."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0)

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        if not items and not self.label_names:
            items = [((), 0)]
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = value

    def inc(self, amount: float = 1, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self, name: str, help: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(sorted(buckets))
        self._data: dict[tuple[str, ...], list[float]] = {}  # counts per bucket, +Inf, sum

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            d = self._data.get(key)
            if d is None:
                d = self._data[key] = [0.0] * (len(self.buckets) + 2)
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    d[i] += 1
            d[-2] += 1
            d[-1] += value

    def lines(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._data.items())
        out = []
        for key, d in items:
            for bound, n in zip(self.buckets, d, strict=False):
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {_number(n)}")
            inf = _labels(self.label_names, key, 'le="+Inf"')
            out.append(f"{self.name}_bucket{inf} {_number(d[-2])}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(d[-1])}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {_number(d[-2])}")
        return out


class Registry:
    """The metrics of one process, and the collectors read at scrape time."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._collectors: dict[str, Callable[[], Iterable[Family]]] = {}
        self._lock = threading.Lock()

    def _get(self, cls: type[_Metric], name: str, *args: object) -> _Metric:
        with self._lock:
            m = self._metrics.get(name)
            if m is None:
                m = self._metrics[name] = cls(name, *args)  # type: ignore[arg-type]
            elif not isinstance(m, cls):
                raise ValueError(f"{name} is already a {m.kind}")
            return m

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        m = self._get(Counter, name, help, labels)
        assert isinstance(m, Counter)
        return m

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        m = self._get(Gauge, name, help, labels)
        assert isinstance(m, Gauge)
        return m

    def histogram(
        self,
        name: str,
        help: str,
        buckets: Sequence[float] = LATENCY_BUCKETS,
        labels: Sequence[str] = (),
    ) -> Histogram:
        m = self._get(Histogram, name, help, buckets, labels)
        assert isinstance(m, Histogram)
        return m

    def collector(self, name: str, collect: Callable[[], Iterable[Family]] | None) -> None:
        """Register (or, with None, remove) a callable read at every scrape: values another
        object already counts, such as the gateway's."""
        with self._lock:
            if collect is None:
                self._collectors.pop(name, None)
            else:
                self._collectors[name] = collect

    def render(self) -> str:
        """Every metric in the text exposition format."""
        with self._lock:
            metrics = sorted(self._metrics.values(), key=lambda m: m.name)
            collectors = list(self._collectors.values())
        out: list[str] = []
        for m in metrics:
            out += [f"# HELP {m.name} {_escape(m.help)}", f"# TYPE {m.name} {m.kind}", *m.lines()]
        for collect in collectors:
            for name, kind, help, samples in collect():
                out += [f"# HELP {name} {_escape(help)}", f"# TYPE {name} {kind}"]
                for suffix, labels, value in samples:
                    names = sorted(labels)
                    lab = _labels(names, [labels[n] for n in names])
                    out.append(f"{name}{suffix}{lab} {_number(value)}")
        return "\n".join(out) + "\n"


#: This process's metrics.
REGISTRY = Registry()


async def serve(host: str, port: int, registry: Registry = REGISTRY) -> asyncio.Server:
    """A minimal HTTP listener answering ``GET /metrics`` (and 404 to anything else), for the
    processes without the web (gateways, writers). Bind it to a private address."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            first = head.split(b"\r\n", 1)[0].split()
            if len(first) >= 2 and first[0] == b"GET" and first[1].split(b"?")[0] == b"/metrics":
                body, status = registry.render().encode(), "200 OK"
                ctype = CONTENT_TYPE
            else:
                body, status, ctype = b"not found\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)

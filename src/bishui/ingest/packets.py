"""From a decoded HJ 212 packet to measurement rows — or quarantine, with the reason.

Which CNs carry data, and which period they fill (HJ 212-2017 Table 9):

======  ==========================  ==========  ================================
CN      meaning                     period      value stored
======  ==========================  ==========  ================================
2011    实时数据 real-time            ``rt``      ``-Rtd``
2051    分钟数据 minute               ``min``     ``-Avg`` (+ Min, Max, Cou)
2061    小时数据 hourly               ``hour``    ``-Avg`` (+ Min, Max, Cou)
2031    日数据 daily                  ``day``     ``-Avg`` (+ Min, Max, Cou)
======  ==========================  ==========  ================================

For 2051/2061/2031, ``DataTime`` is the start of the period. Every other CN is kept in the raw
log only. Each value is checked against the device's registry entry: the parameter must be one
the device reports, the value a number inside the instrument range, the flag one of the
edition's data flags (Table 8), the time not in the future and not older than the backfill
window (:data:`BACKFILL_WINDOW`). A value that fails goes to quarantine with the rule it broke
(and the row it would have been, for release after review); the rest of the packet is stored.

A re-delivery of a stored value is an upsert with revisions (``Store.write_batch``): identical
→ no-op; changed → the previous value is kept in ``measurement_revision`` and the value is
marked ``revised``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bishui.hj212 import Packet
from bishui.hj212.auth import mask_password
from bishui.hj212.tables import data_flags
from bishui.registry import Device
from bishui.store import Batch, QuarantineEntry, RawEntry, storable

DATA_CNS = {
    "2011": ("rt", "Rtd"),
    "2051": ("min", "Avg"),
    "2061": ("hour", "Avg"),
    "2031": ("day", "Avg"),
}
#: How far ahead of the platform's clock a data time may be (logger clocks drift).
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
#: How far back a device may (re)send data and have it stored directly (补传 after an
#: outage). Older values are quarantined ``too_old`` for review, never silently stored: a
#: value 400 days old arriving today is more likely forged or a misset clock than backfill.
#: ``bishui serve --backfill-days`` sets it.
BACKFILL_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Context:
    """Where a packet came from."""

    received_at: dt.datetime
    peer: str | None
    channel: str = "hj212"
    backfill_window: dt.timedelta | None = BACKFILL_WINDOW  # None: no limit


def _finite(text: str | None) -> float | None:
    """A value as sent → float; ``None`` if absent, empty, not a number, or not finite.

    ``float`` accepts exactly the decimal numbers HJ 212 sends (N5.2 etc.); it also accepts
    'nan', 'inf' and '1_0', which are refused here.
    """
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    if v != v or v in (_INF, -_INF) or "_" in text:
        return None
    return v


_INF = float("inf")


def packet_batch(packet: Packet, device: Device, ctx: Context) -> Batch:
    """Measurement rows and quarantine entries for one accepted data packet.

    The raw-log entry is added by the caller (it covers the frame, whatever its content).
    """
    batch = Batch()
    spec = DATA_CNS.get(packet.cn)
    if spec is None:
        return batch
    period, main = spec
    site = device.site_id

    def refuse(
        reason: str,
        message: str,
        field: str | None = None,
        value: str | None = None,
        payload: dict[str, object] | None = None,
    ) -> None:
        batch.quarantine.append(
            QuarantineEntry(
                received_at=ctx.received_at,
                channel=ctx.channel,
                reason=reason,
                message=message,
                peer=ctx.peer,
                mn=device.mn,
                site_id=site,
                field=field,
                value=value,
                payload=payload,
            )
        )

    try:
        ts = packet.data_time
    except ValueError as exc:  # InputError from the codec: a malformed DataTime
        refuse("bad_time", str(exc), "DataTime", packet.get("DataTime"))
        return batch
    if ts is None:
        refuse("missing_time", f"CN {packet.cn} without DataTime", "DataTime")
        return batch
    if ts > ctx.received_at + FUTURE_TOLERANCE:
        refuse(
            "future_time",
            f"DataTime {ts:%Y-%m-%d %H:%M:%S} is after the receive time "
            f"{ctx.received_at:%Y-%m-%d %H:%M:%S}",
            "DataTime",
            packet.get("DataTime"),
        )
        return batch
    window = ctx.backfill_window
    too_old = window is not None and ts < ctx.received_at - window
    known = {p.parameter: p for p in device.parameters}
    flags = data_flags(packet.edition)
    source = storable(packet.qn) if packet.qn else f"{packet.cn}@{ts:%Y%m%d%H%M%S}"
    received = ctx.received_at
    rows = batch.rows
    for code, item in packet.items().items():
        if item.kind != "pollutant":
            continue  # facility states, site information: raw log only
        fields = item.fields
        text = fields.get(main)
        if text is None and main == "Avg":
            text = fields.get("Rtd")  # some loggers send Rtd in period data
        if text is None:
            continue  # e.g. only -Cou or -Flag sent
        param = item.code_2017 if item.edition == "2005" else code
        v = _finite(text)
        if v is None:
            refuse("bad_value", f"{code}-{main}: not a finite number", f"{code}-{main}", text)
            continue
        flag = item.flag or "N"
        p = known.get(param)
        reason = None
        if too_old:
            reason = (
                "too_old",
                f"DataTime {ts:%Y-%m-%d %H:%M:%S} is older than the backfill window "
                f"({window}) before the receive time {ctx.received_at:%Y-%m-%d %H:%M:%S}",
                "DataTime",
                packet.get("DataTime"),
            )
        elif p is None:
            reason = (
                "unknown_parameter",
                f"{param} is not registered for device {device.mn} (site {site})",
                "parameter",
                param,
            )
        elif flag not in flags:
            reason = (
                "bad_flag",
                f"{code}-Flag {flag!r} is not a data flag of HJ 212-{packet.edition} Table 8",
                f"{code}-Flag",
                flag,
            )
        elif (p.range_min is not None and v < p.range_min) or (
            p.range_max is not None and v > p.range_max
        ):
            reason = (
                "out_of_range",
                f"{param} = {text} {p.unit} is outside the instrument "
                f"range {p.range_min}…{p.range_max}",
                "value",
                text,
            )
        if reason is not None:
            # Kept with the row it would have been, so a reviewer can release it.
            refuse(
                *reason,
                payload={
                    "site_id": site,
                    "parameter": param,
                    "period": period,
                    "ts": ts.isoformat(),
                    "origin": "logger",
                    "value": v,
                    "flag": flag,
                    "source": source,
                    "received_at": received.isoformat(),
                },
            )
            continue
        rows.append(
            (
                site,
                param,
                period,
                ts,
                "logger",
                v,
                _finite(fields.get("Min")),
                _finite(fields.get("Max")),
                _finite(fields.get("Cou")),
                flag,
                flag == "N",
                None,
                source,
                received,
            )
        )
    return batch


def frame_batch(raw: bytes, packet: Packet, device: Device | None, ctx: Context) -> Batch:
    """Everything one accepted frame writes: its raw-log entry (verdict ``partial`` when some
    values were quarantined, with their reasons) and its rows and quarantine entries."""
    part = packet_batch(packet, device, ctx) if device is not None else Batch()
    reasons = ",".join(sorted({q.reason for q in part.quarantine})) or None
    part.raw.append(
        RawEntry(
            ctx.received_at,
            ctx.channel,
            mask_password(raw),  # the device password never reaches the raw log
            "partial" if part.quarantine else "accepted",
            peer=ctx.peer,
            mn=packet.mn,
            qn=packet.qn,
            cn=packet.cn,
            reason=reasons,
        )
    )
    return part

"""From a grid sensor's MQTT message to the store: the same rules and tables as HJ 212.

:func:`prepare` (pure apart from the lookups it is given) turns one received message into an
:class:`Item`: its raw-log entry, its measurement rows and its quarantine entries, and the key
that recognises a redelivery. The checks, in order, each a quarantine reason:

==================  ===================================================================
reason              rule
==================  ===================================================================
too_large           payload over :data:`~bishui.grid.payload.MAX_PAYLOAD` bytes or
                    :data:`~bishui.grid.payload.MAX_VALUES` values
bad_topic           not ``bishui/v1/<city>/<device>/data``
bad_json            not UTF-8 JSON
bad_payload         a field missing or malformed (the field is named)
topic_mismatch      the payload's device is not the topic's
bad_time            ``time`` not ISO 8601 with an offset
unknown_device      no active registry device with that id
bad_signature       ``sig`` is not the device key's HMAC of the canonical form
future_time         ``time`` after the receive time + :data:`FUTURE_TOLERANCE`
too_old             ``time`` before the receive time − the backfill window (per value, with
                    the row, releasable after review — as HJ 212)
unknown_parameter   a code the device is not registered for (per value)
unit_mismatch       a unit other than the registered one (per value)
bad_value           not a finite number (per value)
bad_flag            not an HJ 212-2017 Table 8 data flag (per value)
out_of_range        outside the registered instrument range (per value)
sequence_reused     a signed message with the key (device, seq, time) of a stored one but
                    other content
==================  ===================================================================

:func:`commit` writes a group of items in **one** store transaction: it looks their keys up
in ``grid_message``, drops the redeliveries (same key, same content: a duplicate, written
nothing), writes the rest (raw log, series, quarantine) and records their keys. The caller
acknowledges (MQTT PUBACK) only after it returns. A key is recorded only for a message whose
signature verified; anything else is keyed by the digest of its bytes, so an unsigned message
can never occupy the key of a genuine one.

:func:`prune` removes the keys received before a window (``platform.mqtt_dedup_days``) from
``grid_message``, run by ``bishui store retention`` and the platform's maintenance pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bishui.grid.payload import MAX_PAYLOAD, Message, PayloadError, device_key, parse, verify
from bishui.hj212.tables import data_flags
from bishui.ingest.packets import BACKFILL_WINDOW
from bishui.registry import Device
from bishui.store import Batch, QuarantineEntry, RawEntry, Store, storable
from bishui.timeutil import to_beijing_naive

__all__ = ["CHANNEL", "FUTURE_TOLERANCE", "Item", "commit", "prepare", "prune"]

CHANNEL = "mqtt"
#: How far ahead of the platform's clock a message's time may be (sensor clocks drift).
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
#: The data flags a value may carry (HJ 212-2017 Table 8).
FLAGS = frozenset(data_flags("2017"))


@dataclass(slots=True)
class Item:
    """One received message, ready to commit."""

    key: str  # device/seq/time when signed, else raw/<digest>
    digest: str  # SHA-256 of topic and payload
    device: str | None
    received_at: dt.datetime
    verdict: str  # accepted | partial | rejected
    batch: Batch = field(default_factory=Batch)
    raw: bytes = b""
    signed: bool = False


def _digest(topic: str, payload: bytes) -> str:
    return hashlib.sha256(topic.encode("utf-8", "surrogateescape") + b"\0" + payload).hexdigest()


def prepare(
    topic: str,
    payload: bytes,
    received_at: dt.datetime,
    device: Callable[[str], Device | None],
    key: Callable[[str], bytes],
    *,
    backfill_window: dt.timedelta | None = BACKFILL_WINDOW,
    peer: str | None = None,
) -> Item:
    """The :class:`Item` for *payload* received on *topic* at *received_at* (naive Beijing
    time). *device* looks a device up by id; *key* gives a device id's signing key."""
    digest = _digest(topic, payload)
    raw = payload[:MAX_PAYLOAD]  # the raw log keeps at most this much of an oversized one
    peer = storable(peer or topic)
    try:
        msg = parse(topic, payload)
    except PayloadError as exc:
        return _rejected(digest, raw, received_at, peer, None, exc.reason, str(exc), exc)
    dev = device(msg.device)
    if dev is None or not dev.active:
        err = PayloadError("unknown_device", "device", "an active registered device", msg.device)
        return _rejected(digest, raw, received_at, peer, msg.device, err.reason, str(err), err)
    if not verify(msg, key(msg.device)):
        err = PayloadError("bad_signature", "sig", "HMAC-SHA256 of the canonical form", None)
        return _rejected(
            digest, raw, received_at, peer, msg.device, err.reason, str(err), err, dev.site_id
        )
    ts = to_beijing_naive(msg.time).replace(microsecond=0)
    if ts > received_at + FUTURE_TOLERANCE:
        err = PayloadError(
            "future_time", "time",
            f"at most {FUTURE_TOLERANCE} after the receive time {received_at:%Y-%m-%d %H:%M:%S}",
            msg.time_text,
        )  # fmt: skip
        item = _rejected(
            digest, raw, received_at, peer, msg.device, err.reason, str(err), err, dev.site_id
        )
        item.key, item.signed = msg.key, True
        return item
    item = Item(msg.key, digest, msg.device, received_at, "accepted", raw=raw, signed=True)
    _values(item, msg, dev, ts, received_at, backfill_window, peer)
    reasons = ",".join(sorted({q.reason for q in item.batch.quarantine})) or None
    if item.batch.quarantine:
        item.verdict = "partial" if item.batch.rows else "rejected"
    item.batch.raw.append(
        RawEntry(
            received_at, CHANNEL, raw, item.verdict, peer=peer, mn=msg.device,
            qn=str(msg.seq), cn=msg.period, reason=reasons,
        )
    )  # fmt: skip
    return item


def _values(
    item: Item,
    msg: Message,
    dev: Device,
    ts: dt.datetime,
    received_at: dt.datetime,
    window: dt.timedelta | None,
    peer: str | None,
) -> None:
    site = dev.site_id
    known = {p.parameter: p for p in dev.parameters}
    too_old = window is not None and ts < received_at - window
    source = storable(f"mqtt:{msg.seq}")
    for v in msg.values:
        p = known.get(v.code)
        reason: tuple[str, str, str, str] | None = None
        if too_old:
            reason = ("too_old", f"time {msg.time_text} is older than the backfill window "
                      f"({window}) before the receive time {received_at:%Y-%m-%d %H:%M:%S}",
                      "time", msg.time_text)  # fmt: skip
        elif p is None:
            reason = ("unknown_parameter",
                      f"{v.code} is not registered for device {dev.mn} (site {site})",
                      "parameter", v.code)  # fmt: skip
        elif v.unit != p.unit:
            reason = ("unit_mismatch", f"{v.code} in {v.unit}; the device is registered "
                      f"in {p.unit}", f"values.{v.code}.unit", v.unit)  # fmt: skip
        elif v.flag not in FLAGS:
            reason = ("bad_flag", f"{v.code} flag {v.flag!r} is not a data flag of "
                      "HJ 212-2017 Table 8", f"values.{v.code}.flag", v.flag)  # fmt: skip
        elif (p.range_min is not None and v.value < p.range_min) or (
            p.range_max is not None and v.value > p.range_max
        ):
            reason = ("out_of_range", f"{v.code} = {v.text} {p.unit} is outside the instrument "
                      f"range {p.range_min}…{p.range_max}", f"values.{v.code}.value",
                      v.text)  # fmt: skip
        if reason is not None:
            r, message, fld, value = reason
            item.batch.quarantine.append(
                QuarantineEntry(
                    received_at, CHANNEL, r, message, peer=peer, mn=dev.mn, site_id=site,
                    field=fld, value=value,
                    payload={"site_id": site, "parameter": v.code, "period": msg.period,
                             "ts": ts.isoformat(), "origin": "logger", "value": v.value,
                             "flag": v.flag, "source": source,
                             "received_at": received_at.isoformat()},
                )
            )  # fmt: skip
            continue
        item.batch.rows.append(
            (site, v.code, msg.period, ts, "logger", v.value, None, None, None, v.flag,
             v.flag == "N", None, source, received_at)
        )  # fmt: skip


def _rejected(
    digest: str,
    raw: bytes,
    received_at: dt.datetime,
    peer: str | None,
    device: str | None,
    reason: str,
    message: str,
    exc: PayloadError,
    site_id: str | None = None,
) -> Item:
    """A whole message refused: raw log and quarantine, keyed by its bytes."""
    value = None if exc.value is None else storable(str(exc.value))
    item = Item(f"raw/{digest}", digest, device, received_at, "rejected", raw=raw)
    item.batch.raw.append(
        RawEntry(received_at, CHANNEL, raw, "rejected", peer=peer, mn=device, reason=reason)
    )
    item.batch.quarantine.append(
        QuarantineEntry(
            received_at, CHANNEL, reason, message, peer=peer, mn=device, site_id=site_id,
            field=exc.field, value=value, raw=raw,
        )
    )  # fmt: skip
    return item


#: Keys looked up per statement.
_CHUNK = 400


def commit(store: Store, items: Sequence[Item]) -> list[str]:
    """Write *items* in one transaction; for each, ``stored``, ``duplicate`` (a redelivery:
    nothing written) or ``reused`` (quarantined ``sequence_reused``)."""
    out: list[str] = []
    with store.transaction() as tx:
        keys = sorted({i.key for i in items})
        seen: dict[str, str] = {}
        for n in range(0, len(keys), _CHUNK):
            chunk = keys[n : n + _CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for k, d in tx.fetch(
                f"SELECT key, digest FROM grid_message WHERE key IN ({marks})",  # noqa: S608
                chunk,
            ):
                seen[k] = d
        merged = Batch()
        new: list[tuple[object, ...]] = []
        for i in items:
            stored = seen.get(i.key)
            if stored == i.digest:
                out.append("duplicate")
                continue
            if stored is not None:  # signed, same device/seq/time, other content
                out.append("reused")
                exc = PayloadError("sequence_reused", "seq", "a new (seq, time) per message")
                merged.extend(
                    _rejected(
                        i.digest, i.raw, i.received_at, None, i.device, exc.reason,
                        f"device {i.device} sent other content under {i.key} (stored before)",
                        exc,
                    ).batch
                )  # fmt: skip
                continue
            seen[i.key] = i.digest
            merged.extend(i.batch)
            new.append((i.key, i.device, i.digest, i.received_at, i.verdict))
            out.append("stored")
        tx.write_batch(merged)
        tx.insert_rows(
            "grid_message", ("key", "device_id", "digest", "received_at", "verdict"), new
        )
    return out


def refused(store: Store, item: Item, exc: Exception) -> None:
    """Keep an item the store refused (its raw bytes, quarantined ``store_refused``)."""
    message = storable(f"the store refused this message: {exc}", 500)
    store.write_batch(
        Batch(
            raw=[RawEntry(item.received_at, CHANNEL, item.raw, "rejected", mn=item.device,
                          reason="store_refused")],
            quarantine=[QuarantineEntry(item.received_at, CHANNEL, "store_refused", message,
                                        mn=storable(item.device), raw=item.raw)],
        )
    )  # fmt: skip


def device_keys(platform_key: bytes) -> Callable[[str], bytes]:
    """A device id → its signing key, derived from *platform_key* (cached per id)."""
    cache: dict[str, bytes] = {}

    def key(device: str) -> bytes:
        got = cache.get(device)
        if got is None:
            if len(cache) > 100_000:
                cache.clear()
            got = cache[device] = device_key(platform_key, device)
        return got

    return key


#: The prune's statements; on PostgreSQL both read the index ``grid_message_received``
#: (grid migration 2) rather than the whole table.
_PRUNE_COUNT_SQL = "SELECT COUNT(*) FROM grid_message WHERE received_at < ?"
PRUNE_SQL = "DELETE FROM grid_message WHERE received_at < ?"


def prune(store: Store, now: dt.datetime, days: int, *, dry_run: bool = False) -> dict[str, object]:
    """Remove the redelivery keys of the messages received more than *days* before *now*
    (naive Beijing time, like ``received_at``); what was (or, *dry_run*, would be) removed.

    A broker redelivers a message only to the session it first sent it to, when that client
    connects again; the key must outlive the longest time a session may stay away with
    unacknowledged messages — *days* (docs/grid.md). A key received at the cut or after is
    kept."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    cutoff = now - dt.timedelta(days=days)
    with store.transaction() as tx:
        (n,) = tx.fetch_one(_PRUNE_COUNT_SQL, [cutoff]) or (0,)
        if n and not dry_run:
            tx.execute(PRUNE_SQL, [cutoff])
    return {"cutoff": cutoff.isoformat(sep=" "), "rows_deleted": int(n), "dry_run": dry_run}

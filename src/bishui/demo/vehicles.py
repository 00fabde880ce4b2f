"""The model city's vehicle-inspection stations for the demo (docs/vehicles.md, docs/demo.md).

Ten simulated stations with two lanes each and their black boxes upload the last complete day;
station S01 fakes some of its records (cloned and edited curves, a shifted clock, a substituted
analyser, diluted samples, a lowered rated power) and fails the regulator's gas check and the
patrol-vehicle comparison. The boxes send their event channels (electronic seal, probe attitude)
— S01's seal is broken and its probe lifted during a few tests — and every lane its daily
self-checks (coast-down, leak check, opacimeter zero): S01's first lane fails its morning
coast-down and tests on until its re-check at noon. The analysis runs, its high findings become
enforcement alerts, a report-signing key is made (its private seed kept in the data directory,
0600; the public key published) and a report code issued for a few tests. Idempotent: a store
that has inspection records is left as it is.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

import click

from bishui.store import Store
from bishui.vehicles import reportcode, service
from bishui.vehicles.simulate import SimConfig, selfchecks, simulate, with_events

KEY_FILE = "vehicles-signing-key.hex"
KEY_ID = "jingmen-demo-1"
BASE_URL = "http://127.0.0.1:8000/vehicles"
FRAUDS = {
    "clone": 0.1,
    "edited": 0.08,
    "clock": 0.08,
    "equipment": 0.05,
    "dilution": 0.05,
    "rated_power": 0.05,
}
EVENT_FRAUDS = {"seal": 0.08, "probe": 0.05}  # S01, the boxes' event channels
FAILED_COASTDOWN = "S01-L1"  # its morning coast-down fails; re-checked at noon
#: The station whose black boxes send their captures over their own signed channel (HJ 212
#: frames, service.upload_capture_frames), as a deployed box does; the other stations' captures
#: are loaded directly. All ten through frames cost ~20 s more per demo prepare (measured, the
#: suite's 2-core machine: 420 captures, 44 517 seconds, 13.9 MB of frames: sign and encode 7 s,
#: decode, verify and store 15 s, against 2 s loaded directly) — docs/vehicles.md, "Demo".
FRAMED_STATION = "S01"


def _key(data_dir: Path) -> Any:
    path = data_dir / KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return reportcode.private_from_seed(bytes.fromhex(path.read_text().strip()))


def _send_over_the_box_channel(store: Store, caps: list[Any], now: dt.datetime) -> int:
    """Each box of *caps* gets its own Ed25519 key (made here: a box's private key never leaves
    the box, so the demo keeps none), registered with its lane; every capture is signed and
    sent as HJ 212 frames through the platform's box channel, where the signatures are checked
    before anything is stored."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from bishui.vehicles import boxframe, boxsign

    keys: dict[str, Ed25519PrivateKey] = {}
    for c in caps:
        if c.box_serial not in keys:
            keys[c.box_serial] = Ed25519PrivateKey.generate()
            lane = c.box_serial.removeprefix("BB-")
            service.register_box(store, c.box_serial, lane, boxsign.public_raw(keys[c.box_serial]),
                                 "demo", now)  # fmt: skip
    if not caps:
        return 0
    data = b"".join(boxframe.encode(c, boxsign.sign(c, keys[c.box_serial])) for c in caps)
    return service.upload_capture_frames(store, data, "blackbox", now)


def setup(
    store: Store, data_dir: Path, end: dt.datetime, *, now: dt.datetime, echo: Any = click.echo
) -> dict[str, int]:
    if store.count("vehicles_inspections"):
        return {}
    day = (end - dt.timedelta(days=1)).date()
    echo(f"      vehicle inspections: 10 stations, both channels, {day} …")
    sim = simulate(SimConfig(stations=10, tests_per_lane=20, day=day, seed=19, frauds=FRAUDS))
    sim = with_events(sim, seed=20, frauds=EVENT_FRAUDS)
    framed = [c for c in sim.captures.values() if c.box_serial.startswith(f"BB-{FRAMED_STATION}-")]
    counts = service.load_simulation(
        store, sim, "demo", now, skip_captures={c.inspection_id for c in framed}
    )
    counts["framed_captures"] = _send_over_the_box_channel(store, framed, now)
    counts["selfchecks"] = service.record_selfchecks(
        store, selfchecks(sim, seed=19, fail_lane=FAILED_COASTDOWN), "demo", now
    )
    found = service.analyse(store, day, day, "demo", now, require_daily_check=True)
    alerts = service.route_alerts(store, found, now=now)
    sk = _key(data_dir)
    service.publish_key(
        store, reportcode.public_of(KEY_ID, sk, day.replace(month=1, day=1)), "demo", now
    )
    issued = 0
    for t in sim.inspections[:: max(1, len(sim.inspections) // 5)][:5]:
        service.issue_report(store, t.id, KEY_ID, sk, BASE_URL, "demo", now)
        issued += 1
    echo(
        f"      {counts['inspections']} tests ({counts['framed_captures']} captures over the "
        f"boxes' signed channel), {len(found)} findings, {alerts} alerts to "
        f"enforcement, {issued} report codes signed with {KEY_ID}"
    )
    return {**counts, "findings": len(found), "alerts": alerts, "reports": issued}

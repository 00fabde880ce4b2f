"""Loading the registry into the store, reading it back, and exporting it.

A registry file is TOML with ``[[regions]]``, ``[[enterprises]]``, ``[[sites]]`` and
``[[devices]]`` tables (docs/registry.md). Loading validates the whole file against itself and
against what the store already holds, and writes nothing unless all of it passes.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from bishui.errors import InputError
from bishui.hj212.auth import hash_password, is_hashed
from bishui.registry.model import Device, DeviceParameter, Registry, from_mapping
from bishui.store import Store

TABLE_ORDER = ("regions", "enterprises", "sites", "devices")


def read_file(path: str | Path) -> Registry:
    """Parse a registry TOML file (syntax errors name the line)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML: {exc}", None) from exc
    except OSError as exc:
        raise InputError("path", f"cannot read: {exc.strerror}", str(path)) from exc
    return from_mapping(data)


def apply(store: Store, reg: Registry) -> dict[str, int]:
    """Validate *reg* against itself and the store, then upsert all of it."""
    known_regions = {r["code"] for r in store.rows("regions")}
    known_ents = {e["uscc"] for e in store.rows("enterprises")}
    known_sites = {s["id"] for s in store.rows("sites")}
    # Re-listing an existing id updates it: only ids *not* in this file count as "known".
    reg.validate(
        known_regions - {r.code for r in reg.regions},
        known_ents - {e.uscc for e in reg.enterprises},
        known_sites - {s.id for s in reg.sites},
    )
    store.upsert("regions", [_asdict(r) for r in reg.regions])
    store.upsert("enterprises", [_asdict(e) for e in reg.enterprises])
    store.upsert("sites", [_asdict(s) for s in reg.sites])
    # device passwords are stored as salted hashes, never in clear (issue 13)
    store.upsert("devices", [_hashed(d.row()) for d in reg.devices])
    store.upsert(
        "device_parameters",
        [{"mn": d.mn, **_asdict(p)} for d in reg.devices for p in d.parameters],
    )
    return {
        "regions": len(reg.regions),
        "enterprises": len(reg.enterprises),
        "sites": len(reg.sites),
        "devices": len(reg.devices),
    }


def export(store: Store, *, include_secrets: bool = False) -> dict[str, Any]:
    """The registry as a TOML-ready mapping. Device passwords only if asked for."""
    out: dict[str, Any] = {}
    for table in ("regions", "enterprises", "sites"):
        out[table] = [_drop_none(r) for r in store.rows(table)]
    params: dict[str, list[dict[str, Any]]] = {}
    for p in store.rows("device_parameters"):
        mn = p.pop("mn")
        params.setdefault(mn, []).append(_drop_none(p))
    devices = []
    for d in store.rows("devices"):
        d = _drop_none(d)
        if not include_secrets:
            d["pw"] = "***"
        d["parameters"] = params.get(d["mn"], [])
        devices.append(d)
    out["devices"] = devices
    return out


def export_toml(store: Store, *, include_secrets: bool = False) -> str:
    return tomli_w.dumps(export(store, include_secrets=include_secrets))


def export_csv(store: Store, table: str) -> str:
    """One registry table as CSV (UTF-8 with BOM, so Excel opens Chinese text correctly)."""
    if table not in (*TABLE_ORDER, "device_parameters"):
        raise InputError("table", f"one of {', '.join(TABLE_ORDER)}, device_parameters", table)
    rows = store.rows(table)
    buf = io.StringIO()
    buf.write("\ufeff")
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            if table == "devices":
                r = {**r, "pw": "***"}
            w.writerow(r)
    return buf.getvalue()


def devices(store: Store) -> dict[str, Device]:
    """Every registered device by MN, with its parameters (for the gateway and ingest)."""
    params: dict[str, list[DeviceParameter]] = {}
    for p in store.rows("device_parameters"):
        params.setdefault(p["mn"], []).append(
            DeviceParameter(p["parameter"], p["unit"], p["range_min"], p["range_max"])
        )
    return {
        d["mn"]: Device(
            mn=d["mn"],
            site_id=d["site_id"],
            pw=d["pw"],
            st=d["st"],
            edition=d["edition"],
            crc_policy=d["crc_policy"],
            active=bool(d["active"]),
            parameters=tuple(params.get(d["mn"], ())),
        )
        for d in store.rows("devices")
    }


def _hashed(row: dict[str, Any]) -> dict[str, Any]:
    pw = row.get("pw") or ""
    return row if is_hashed(pw) else {**row, "pw": hash_password(pw)}


def rehash_clear_passwords(store: Store) -> int:
    """Replace clear device passwords left by older versions with hashes; return how many."""
    rows = [r for r in store.rows("devices") if not is_hashed(r["pw"] or "")]
    if rows:
        store.upsert("devices", [_hashed(r) for r in rows])
    return len(rows)


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__ if k != "parameters"}


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != {}}

"""Permits to and from CSV and Excel (one flat table).

One row per limit (``outlet_id`` and ``pollutant`` and ``limit_value`` set) or per annual
quantity (``outlet_id`` empty, ``pollutant`` and ``annual_quantity_t`` set). Permit-level
columns repeat on every row of a version and must agree. An outlet with no limits is written as
a row with ``pollutant`` empty. Errors carry the 1-based data row (header = row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bishui.errors import InputError
from bishui.sources.permits import Limit, ManagementClass, Outlet, Permit, check_history

COLUMNS = (
    "permit_no", "version", "uscc", "enterprise", "management_class", "valid_from", "valid_to",
    "issued_by", "change_reason", "revoked_on", "outlet_id", "outlet_name", "outlet_main",
    "pollutant", "limit_value", "limit_lower", "limit_unit", "standard", "clause", "averaging",
    "reference_o2", "annual_quantity_t",
)  # fmt: skip
_PERMIT_COLS = COLUMNS[:10]


def _date(s: str, name: str, row: int) -> dt.date:
    try:
        return dt.date.fromisoformat(s.strip())
    except ValueError:
        raise InputError(name, "an ISO date YYYY-MM-DD", s, row=row) from None


def _opt_dec(s: str) -> Decimal | None:
    return Decimal(s.strip()) if s and s.strip() else None


def permits_from_rows(rows: Iterable[dict[str, Any]]) -> list[Permit]:
    """Build and validate permits from dict rows with :data:`COLUMNS` keys; first row is 2."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for i, raw in enumerate(rows, start=2):
        r = {k: "" if raw.get(k) is None else str(raw.get(k)).strip() for k in COLUMNS}
        key = (r["permit_no"].upper(), r["version"])
        g = groups.setdefault(key, {"head": r, "row": i, "outlets": {}, "caps": {}})
        for c in _PERMIT_COLS:
            if r[c] != g["head"][c]:
                raise InputError(c, "differs between rows of one permit version", r[c], row=i)
        try:
            if r["outlet_id"]:
                lims, _ = g["outlets"].setdefault(r["outlet_id"], ([], r))
                if r["pollutant"]:
                    lims.append(
                        Limit(
                            pollutant=r["pollutant"],
                            value=r["limit_value"],  # type: ignore[arg-type]
                            unit=r["limit_unit"],
                            standard=r["standard"],
                            clause=r["clause"],
                            averaging=r["averaging"],
                            reference_o2=_opt_dec(r["reference_o2"]),
                            lower=_opt_dec(r["limit_lower"]),
                        )
                    )
                if r["annual_quantity_t"]:
                    raise InputError(
                        "annual_quantity_t",
                        "goes on a row without outlet_id",
                        r["annual_quantity_t"],
                    )
            elif r["pollutant"]:
                if r["pollutant"] in g["caps"]:
                    raise InputError("pollutant", "annual quantity given twice", r["pollutant"])
                if not r["annual_quantity_t"]:
                    raise InputError("annual_quantity_t", "required on a row without outlet_id", "")
                g["caps"][r["pollutant"]] = r["annual_quantity_t"]
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=i) from None
        except ArithmeticError:
            raise InputError("limit_value", "a decimal number", r["limit_value"], row=i) from None
    out = []
    for g in groups.values():
        h, row = g["head"], g["row"]
        try:
            outlets = tuple(
                Outlet(
                    outlet_id=oid,
                    limits=tuple(lims),
                    name=meta["outlet_name"],
                    main=meta["outlet_main"].lower() not in ("0", "false", "no", "一般"),
                )
                for oid, (lims, meta) in g["outlets"].items()
            )
            version = int(h["version"]) if h["version"].isdigit() else h["version"]
            out.append(
                Permit(
                    permit_no=h["permit_no"],
                    version=version,
                    uscc=h["uscc"],
                    enterprise=h["enterprise"],
                    management_class=ManagementClass(h["management_class"])
                    if h["management_class"] in ManagementClass._value2member_map_
                    else h["management_class"],
                    valid_from=_date(h["valid_from"], "valid_from", row),
                    valid_to=_date(h["valid_to"], "valid_to", row),
                    outlets=outlets,
                    annual_caps=g["caps"],
                    issued_by=h["issued_by"],
                    change_reason=h["change_reason"],
                    revoked_on=_date(h["revoked_on"], "revoked_on", row)
                    if h["revoked_on"]
                    else None,
                )
            )
        except InputError as e:
            raise InputError(e.field, e.rule, e.value, row=e.row or row) from None
    check_history(out)
    return out


def permits_to_rows(permits: Iterable[Permit]) -> list[dict[str, str]]:
    """Flatten permits to rows (strings) with :data:`COLUMNS` keys."""
    rows: list[dict[str, str]] = []
    for p in permits:
        head = {
            "permit_no": p.permit_no, "version": str(p.version), "uscc": p.uscc,
            "enterprise": p.enterprise, "management_class": str(p.management_class),
            "valid_from": p.valid_from.isoformat(), "valid_to": p.valid_to.isoformat(),
            "issued_by": p.issued_by, "change_reason": p.change_reason,
            "revoked_on": p.revoked_on.isoformat() if p.revoked_on else "",
        }  # fmt: skip
        blank = dict.fromkeys(COLUMNS, "") | head
        for o in p.outlets:
            base = blank | {"outlet_id": o.outlet_id, "outlet_name": o.name,
                            "outlet_main": "1" if o.main else "0"}  # fmt: skip
            if not o.limits:
                rows.append(base)
            for lim in o.limits:
                rows.append(
                    base
                    | {
                        "pollutant": lim.pollutant,
                        "limit_value": str(lim.value),
                        "limit_lower": "" if lim.lower is None else str(lim.lower),
                        "limit_unit": lim.unit,
                        "standard": lim.standard,
                        "clause": lim.clause,
                        "averaging": lim.averaging,
                        "reference_o2": "" if lim.reference_o2 is None else str(lim.reference_o2),
                    }
                )
        for pol, q in p.annual_caps.items():
            rows.append(blank | {"pollutant": pol, "annual_quantity_t": str(q)})
    return rows


def read_csv(source: str | Path | io.TextIOBase) -> list[Permit]:
    """Read permits from a UTF-8 CSV (a BOM is accepted) with a :data:`COLUMNS` header."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as f:
            return read_csv(f)
    reader = csv.DictReader(source)
    missing = [c for c in ("permit_no", "version", "uscc") if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError("header", "missing column", missing[0], row=1)
    return permits_from_rows(reader)


def write_csv(permits: Iterable[Permit], target: str | Path | io.TextIOBase) -> None:
    """Write permits as CSV with the :data:`COLUMNS` header."""
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8", newline="") as f:
            write_csv(permits, f)
            return
    w = csv.DictWriter(target, fieldnames=list(COLUMNS))
    w.writeheader()
    w.writerows(permits_to_rows(permits))


def write_xlsx(permits: Iterable[Permit], path: str | Path, sheet: str = "permits") -> None:
    """Write permits to an Excel workbook (one sheet, all cells text so codes keep their form)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(COLUMNS))
    for r in permits_to_rows(permits):
        ws.append([r[c] for c in COLUMNS])
    wb.save(path)


def read_xlsx(path: str | Path, sheet: str = "permits") -> list[Permit]:
    """Read permits from the first row-header sheet named *sheet* of an Excel workbook."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    if sheet not in wb.sheetnames:
        raise InputError("sheet", "workbook has no such sheet", sheet)
    it = wb[sheet].iter_rows(values_only=True)
    header = [str(c) if c is not None else "" for c in next(it, ())]
    rows = []
    for values in it:
        if all(v is None for v in values):
            continue
        rows.append({h: _cell(v) for h, v in zip(header, values, strict=False)})
    wb.close()
    return permits_from_rows(rows)


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def permit_to_dict(p: Permit) -> dict[str, Any]:
    """JSON-ready nested form of one permit version (for the API): Decimals and dates as
    strings, so no precision is lost."""

    def dec(x: Decimal | None) -> str | None:
        return None if x is None else str(x)

    return {
        "permit_no": p.permit_no, "version": p.version, "uscc": p.uscc,
        "enterprise": p.enterprise, "management_class": str(p.management_class),
        "valid_from": p.valid_from.isoformat(), "valid_to": p.valid_to.isoformat(),
        "issued_by": p.issued_by, "change_reason": p.change_reason,
        "revoked_on": p.revoked_on.isoformat() if p.revoked_on else None,
        "outlets": [
            {
                "outlet_id": o.outlet_id, "name": o.name, "main": o.main,
                "limits": [
                    {"pollutant": lim.pollutant, "value": str(lim.value), "unit": lim.unit,
                     "standard": lim.standard, "clause": lim.clause,
                     "averaging": lim.averaging, "reference_o2": dec(lim.reference_o2),
                     "lower": dec(lim.lower)}
                    for lim in o.limits
                ],
            }
            for o in p.outlets
        ],
        "annual_caps_t": {k: str(v) for k, v in p.annual_caps.items()},
    }  # fmt: skip


def permit_from_dict(d: dict[str, Any]) -> Permit:
    """Inverse of :func:`permit_to_dict`; validates like every constructor (InputError)."""
    try:
        outlets = tuple(
            Outlet(
                outlet_id=o["outlet_id"],
                name=o.get("name", ""),
                main=bool(o.get("main", True)),
                limits=tuple(
                    Limit(
                        pollutant=lim["pollutant"],
                        value=lim["value"],
                        unit=lim.get("unit", ""),
                        standard=lim.get("standard", ""),
                        clause=lim.get("clause", ""),
                        averaging=lim.get("averaging", ""),
                        reference_o2=_opt_dec(str(lim.get("reference_o2") or "")),
                        lower=_opt_dec(str(lim.get("lower") or "")),
                    )
                    for lim in o.get("limits", [])
                ),
            )
            for o in d.get("outlets", [])
        )
        return Permit(
            permit_no=d["permit_no"],
            version=d["version"],
            uscc=d["uscc"],
            enterprise=d.get("enterprise", ""),
            management_class=d["management_class"],
            valid_from=_date(str(d["valid_from"]), "valid_from", 0),
            valid_to=_date(str(d["valid_to"]), "valid_to", 0),
            outlets=outlets,
            annual_caps=dict(d.get("annual_caps_t", {})),
            issued_by=d.get("issued_by", ""),
            change_reason=d.get("change_reason", ""),
            revoked_on=_date(str(d["revoked_on"]), "revoked_on", 0)
            if d.get("revoked_on")
            else None,
        )
    except KeyError as e:
        raise InputError(str(e.args[0]), "required", None) from None
    except (TypeError, AttributeError, ArithmeticError) as e:
        raise InputError("permit", f"malformed permit document: {e}", None) from None

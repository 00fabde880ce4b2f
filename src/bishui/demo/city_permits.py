"""Permits for the model city's own enterprises (``bishui demo``), and loading them.

:func:`model_city_permits` gives every enterprise of :func:`bishui.demo.city.build` one permit
(重点管理, numbered ``<credit code>001P``, valid 2024-01-01 – 2028-12-31, 条例 Art. 14) listing
each of its outlets with the limits of the limit set ``demo/jingmen/industries.toml`` assigns
it — the standard, its reliability tag and the reference O2 copied from there, so a finding
cites the same text the simulator was tuned to.

The **annual quantities** are the demo's own assumption (no real permit is copied): for the
main pollutants (SO2, NOx, dust; COD, NH3-N — HJ 942-2018 puts quantities on these) the
nominal design load ``flow × typical concentration × 8760 h`` of each outlet, times
:data:`CAP_FACTOR`. Two enterprises get tighter quantities so the CAP rule has something to
find (:data:`CAP_PLAN`: one that breaches its quantity in the autumn, one that passes the 80 %
warning), and one gets a second version (an emission-right purchase raising its SO2 quantity
from 2026-07-01), so the demo shows a versioned permit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bishui.demo.city import ModelCity
from bishui.sources.permit_store import record_permits
from bishui.sources.permits import Limit, ManagementClass, Outlet, Permit, amend
from bishui.store import Store

VALID_FROM = dt.date(2024, 1, 1)
VALID_TO = dt.date(2028, 12, 31)
#: Pollutants that get an annual quantity (HJ 942-2018 main pollutants of the demo's outlets).
CAPPED = ("a21026", "a21002", "a34013", "w01018", "w21003")
#: Permitted quantity / nominal annual load, by default.
CAP_FACTOR = Decimal("1.3")
#: (industry, index within it) → factor: a breach and an 80 % warning for the CAP rule.
CAP_PLAN = {("cement", 3): Decimal("0.7"), ("chemical", 4): Decimal("0.95")}
#: (industry, index) of the enterprise whose permit gets a second version, and the change.
AMENDED = ("thermal_power", 0)
AMEND_DATE = dt.date(2026, 7, 1)
AMEND_REASON = "排污权交易：购入二氧化硫排污权（演示）"
_FLOW_TO_M3H = {"source_gas": 3600.0, "source_water": 3.6}  # m³/s, L/s → m³/h


def _nominal_t(kind: str, flow_base: float, limit: float, load: float) -> float:
    """Nominal annual mass [t]: flow [m³/h] × concentration × 8760 h (HJ 212 eq. 33 / eq. 8)."""
    q = flow_base * _FLOW_TO_M3H[kind]
    per_hour_t = limit * load * q * (1e-9 if kind == "source_gas" else 1e-6)
    return per_hour_t * 8760


#: pH 6–9 of GB 18918-2002 Table 1 (basic control items, every grade) [V]: a water outlet that
#: measures pH gets it (the limit sets of industries.toml list concentrations only).
PH = Limit(
    "w01001", Decimal(9), "1", "GB 18918-2002", "表1 基本控制项目 pH 6~9 [V]", lower=Decimal(6)
)


def _limits(
    spec: Mapping[str, Any], pollutants: Mapping[str, float], air: bool, measures_ph: bool
) -> tuple[Limit, ...]:
    clause = f"[{spec.get('tag', '')}]"
    ref = None
    if air and spec.get("reference_o2") is not None:
        ref = Decimal(str(spec["reference_o2"]))
        clause += f"; 基准氧 {spec['reference_o2']}% [{spec.get('reference_o2_tag', '')}]"
    return tuple(
        Limit(code, Decimal(str(value)), "mg/m3" if air else "mg/L", str(spec["standard"]),
              clause, reference_o2=ref)
        for code, value in sorted(pollutants.items())
    ) + ((PH,) if measures_ph and not air else ())  # fmt: skip


def model_city_permits(model: ModelCity) -> list[Permit]:
    """Every permit version of the model city's enterprises (see module doc)."""
    sites: dict[str, list[Any]] = {}
    for s in model.registry.sites:
        if s.kind in ("source_gas", "source_water") and s.enterprise:
            sites.setdefault(s.enterprise, []).append(s)
    seen: dict[str, int] = {}
    out: list[Permit] = []
    for ent in model.registry.enterprises:
        industry = model.industry_of.get(ent.uscc, "")
        index = seen.get(industry, 0)
        seen[industry] = index + 1
        outlets, nominal = [], dict.fromkeys(CAPPED, 0.0)
        for s in sorted(sites.get(ent.uscc, []), key=lambda s: s.outlet):
            prof = model.outlets[s.id]
            air = s.kind == "source_gas"
            outlets.append(Outlet(s.outlet, _limits(model.limits[s.id], prof.limits, air,
                                          "w01001" in prof.parameters),
                                  name=s.name))  # fmt: skip
            for code, lim in prof.limits.items():
                if code in nominal:
                    nominal[code] += _nominal_t(s.kind, prof.flow_base, lim, prof.load)
        factor = CAP_PLAN.get((industry, index), CAP_FACTOR)
        caps = {c: (Decimal(repr(v)) * factor).quantize(Decimal("0.001"))
                for c, v in nominal.items() if v > 0}  # fmt: skip
        p = Permit(ent.uscc + "001P", 1, ent.uscc, ent.name, ManagementClass.KEY, VALID_FROM,
                   VALID_TO, tuple(outlets), caps, issued_by="荆门市生态环境局")  # fmt: skip
        if (industry, index) == AMENDED and "a21026" in caps:
            raised = dict(caps) | {"a21026": (caps["a21026"] * Decimal("1.2")).quantize(
                Decimal("0.001"))}  # fmt: skip
            out += amend([p], p.permit_no, AMEND_DATE, AMEND_REASON, annual_caps=raised)
        else:
            out.append(p)
    return out


def load_demo_permits(store: Store, model: ModelCity, *, by: str = "demo") -> dict[str, int]:
    """Record the model city's permits (idempotent: a second call records nothing)."""
    return record_permits(store, model_city_permits(model), by=by)

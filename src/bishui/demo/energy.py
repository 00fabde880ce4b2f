"""The model city's energy and reduction accounts — **synthetic**, at the scale of Jingmen's
published 2016 figures (issue 18), labelled synthetic as the rest of the demo is.

Anchors (the only published numbers used): the city's 2016 energy use 796.4 万tce, GDP
1,521.0 亿元 at current prices and 1,507.2 亿元 at 2015 prices (assumption A of
tests/energy/test_energy_accounts.py) — so the model city's 2016 intensity is the published
0.5284 tce/万元. Everything else — the county shares, the fuel mix, the other years' growth,
the electricity equal-value coefficients, targets, measures, emissions and projects — is a
**model assumption** chosen to look plausible, never a published figure.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bishui.energy import accounts as ea
from bishui.energy import service
from bishui.readings import sites as read_sites
from bishui.store import Store

BY = "demo"
SRC = "合成数据（演示）"
CITY = "420800"
#: county → (share of the city's energy 2016, share of its GDP, yearly energy drift after 2016)
COUNTIES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    "420802": (Decimal("0.16"), Decimal("0.20"), Decimal("1.000")),  # 东宝区
    "420804": (Decimal("0.22"), Decimal("0.17"), Decimal("1.025")),  # 掇刀区 (化工)
    "420822": (Decimal("0.12"), Decimal("0.12"), Decimal("0.995")),  # 沙洋县
    "420881": (Decimal("0.22"), Decimal("0.23"), Decimal("0.990")),  # 钟祥市
    "420882": (Decimal("0.16"), Decimal("0.18"), Decimal("0.985")),  # 京山市
    "420800-ZH": (Decimal("0.06"), Decimal("0.05"), Decimal("1.000")),  # 漳河新区
    "420800-QJL": (Decimal("0.06"), Decimal("0.05"), Decimal("1.005")),  # 屈家岭管理区
}
#: the city's energy use [万tce, equivalent basis]; 2016 is the published figure
CITY_ENERGY = {2015: "780.0", 2016: "796.4", 2017: "806.0", 2018: "813.5", 2019: "821.0",
               2020: "808.0", 2021: "842.0", 2022: "851.0", 2023: "861.0", 2024: "868.0",
               2025: "874.0"}  # fmt: skip
#: real GDP growth and deflator growth of each year (2016's deflator from the published pair)
REAL = {2016: "0.079", 2017: "0.078", 2018: "0.078", 2019: "0.079", 2020: "-0.040",
        2021: "0.130", 2022: "0.048", 2023: "0.058", 2024: "0.056", 2025: "0.055"}  # fmt: skip
GDP_2016_CURRENT = Decimal("15210000")  # 万元 (1,521.0 亿元, published)
GDP_2016_AT_2015 = Decimal("15072000")  # 万元 (1,507.2 亿元, assumption A)
DEFLATOR_GROWTH = Decimal("0.02")  # other years: a model assumption
#: the 2025 total cap as a multiple of the 2020 total (demo parameter [M], not a published cap)
TOTAL_CAP_GROWTH = Decimal("1.10")
#: electricity equal-value coefficient (供电煤耗) per year: model assumptions near the national
#: level, NOT the published CEC figures
EQUAL_VALUE = {y: Decimal("0.315") - Decimal("0.0017") * (y - 2015) for y in CITY_ENERGY}
#: each county's energy by unit kind and fuel, as shares of its equivalent-basis total
MIX: list[tuple[str, str, str, Decimal, bool]] = [  # shares sum to 1
    # (unit suffix, kind, fuel, share, feedstock)
    ("gy1", "industry", "raw_coal", Decimal("0.48"), False),
    ("gy1", "industry", "coke", Decimal("0.05"), False),
    ("gy2", "industry", "natural_gas", Decimal("0.08"), False),
    ("gy2", "industry", "electricity", Decimal("0.13"), False),
    ("gy3", "industry", "raw_coal", Decimal("0.04"), True),  # 合成氨 feedstock (原料用能)
    ("gy3", "industry", "diesel", Decimal("0.02"), False),
    ("gg1", "public_institution", "electricity", Decimal("0.03"), False),
    ("gg1", "public_institution", "natural_gas", Decimal("0.01"), False),
    ("jz1", "building", "electricity", Decimal("0.05"), False),
    ("jz1", "building", "heat", Decimal("0.02"), False),
    ("fw1", "service", "electricity", Decimal("0.05"), False),
    ("fw1", "service", "gasoline", Decimal("0.03"), False),
    ("fw1", "service", "lpg", Decimal("0.01"), False),
]
UNIT_NAMES = {"gy1": "重点用能工业企业甲（合成）", "gy2": "重点用能工业企业乙（合成）",
              "gy3": "化工企业（合成）", "gg1": "公共机构（合成）", "jz1": "公共建筑（合成）",
              "fw1": "服务业单位（合成）", "pv": "分布式光伏（合成）"}  # fmt: skip
KINDS = {"gy1": "industry", "gy2": "industry", "gy3": "industry", "gg1": "public_institution",
         "jz1": "building", "fw1": "service", "pv": "building"}  # fmt: skip
#: renewable electricity as a share of the county total (grows 2020 → 2025)
RENEWABLE = {y: Decimal("0.005") * max(0, y - 2018) for y in CITY_ENERGY}


def _gdp_rows() -> list[dict[str, Any]]:
    """City and county GDP at current prices and at each plan base's prices (exact sums)."""
    real_idx = {2016: Decimal(1)}
    price_idx = {2016: Decimal(1)}
    real_idx[2015] = 1 / (1 + Decimal(REAL[2016]))
    price_idx[2015] = GDP_2016_AT_2015 / GDP_2016_CURRENT
    for y in range(2017, 2026):
        real_idx[y] = real_idx[y - 1] * (1 + Decimal(REAL[y]))
        price_idx[y] = price_idx[y - 1] * (1 + DEFLATOR_GROWTH)
    real_2016 = GDP_2016_AT_2015 / price_idx[2015]  # 2016 real at 2016 prices = current

    def at(y: int, base: int) -> Decimal:
        # GDP of year y at base-year prices
        return real_2016 * real_idx[y] * price_idx[base]

    city: dict[tuple[int, int], Decimal] = {}
    for y in range(2015, 2026):
        for b in {y, service.price_base_of(y)} | ({service.price_base_of(y + 1)} if y < 2025
                                                    else set()):  # fmt: skip
            if 2015 <= b <= y:
                v = at(y, b).quantize(Decimal("0.01"))
                city[(y, b)] = v
    city[(2016, 2016)] = GDP_2016_CURRENT
    city[(2016, 2015)] = GDP_2016_AT_2015
    rows = []
    for (y, b), v in sorted(city.items()):
        rows.append({"county": CITY, "year": y, "price_base": b, "value_wan": str(v),
                     "source": "2016：公开数据；其他年份：" + SRC})  # fmt: skip
        rest = v
        codes = list(COUNTIES)
        for i, c in enumerate(codes):
            part = rest if i == len(codes) - 1 else (v * COUNTIES[c][1]).quantize(Decimal("0.01"))
            rest -= part
            rows.append({"county": c, "year": y, "price_base": b, "value_wan": str(part),
                         "source": SRC})  # fmt: skip
    return rows


def _use_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for y, e in CITY_ENERGY.items():
        city_kgce = Decimal(e) * 10_000_000
        for c, (share, _, drift) in COUNTIES.items():
            total = city_kgce * share * drift ** max(0, y - 2016)
            for unit, _, fuel, part, feed in MIX:
                coef = ea.coefficient(fuel).kgce_per_unit
                q = int((total * part / coef).to_integral_value())
                rows.append({"unit_id": f"{c}-{unit}", "year": y, "fuel": fuel, "quantity": q,
                             "feedstock": feed, "source": SRC})  # fmt: skip
            ren = RENEWABLE[y]
            if ren:
                coef = ea.coefficient("electricity").kgce_per_unit
                q = int((total * ren / coef).to_integral_value())
                rows.append({"unit_id": f"{c}-pv", "year": y, "fuel": "renewable_electricity",
                             "quantity": q, "feedstock": False, "source": SRC})  # fmt: skip
    return rows


def _measures() -> list[dict[str, Any]]:
    plan = [("boiler_closed", 2017, 12_000_000), ("district_heating", 2019, 30_000_000),
            ("boiler_converted", 2022, 8_000_000)]  # fmt: skip
    out = []
    for c in COUNTIES:
        for i, (kind, y, kg) in enumerate(plan):
            out.append({"id": f"{c}-M{i + 1}", "county": c, "unit_id": f"{c}-gy1", "kind": kind,
                        "year": y, "claimed_kgce": kg, "method": "措施前后能耗对比（合成）",
                        "evidence": SRC})  # fmt: skip
    out.append({"id": "420881-M4", "county": "420881", "kind": "small_unit_shut", "year": 2021,
                "claimed_kgce": 45_000_000, "method": "关停机组上年能耗（合成）",
                "evidence": SRC})  # fmt: skip
    return out


def _emissions(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Declared emissions of the model city's sources for 2020 and 2025, domestic COD by the
    factor, and the key projects of 2021–2025 (all synthetic)."""
    entries: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    for s in sorted(read_sites(store), key=lambda s: s.id):
        if not s.kind.startswith("source_") or s.region not in COUNTIES:
            continue
        pols = ("SO2", "NOX") if s.kind == "source_gas" else ("COD", "NH3N")
        seed = sum(map(ord, s.id))
        for j, pol in enumerate(pols):
            base_t = 20 + (seed * (j + 3)) % 180  # 20–200 t in 2020
            if pol == "NH3N":
                base_t //= 8
            cut = Decimal(8 + (seed + j) % 17) / 100  # 8–24 % cut by 2025
            for y, t in ((2020, Decimal(base_t)), (2025, Decimal(base_t) * (1 - cut))):
                entries.append({"source_id": s.id, "county": s.region, "pollutant": pol,
                                "year": y, "basis": "declared",
                                "grams": int((t * 1_000_000).to_integral_value()),
                                "source": f"{y}年排污许可执行报告（合成）"})  # fmt: skip
            projects.append({
                "id": f"P-{s.id}", "pollutant": pol, "county": s.region,
                "year": 2021 + seed % 5, "kind": "engineering",
                "name": f"{s.name} 治理设施提标改造（合成）",
                "before_g": int(Decimal(base_t) * 1_000_000),
                "after_g": int((Decimal(base_t) * (1 - cut)).to_integral_value() * 1_000_000),
                "basis": "declared", "recognised": seed % 4 != 0,
                "evidence": "验收监测报告（合成）",
            })  # fmt: skip
    for c in COUNTIES:
        pop = 150_000 if c.startswith("4208") and "-" not in c else 40_000
        for y, f in ((2020, 1), (2025, Decimal("0.9"))):
            grams = int((pop * 365 * 70 * Decimal(f) * Decimal("0.4")).to_integral_value())
            entries.append({"source_id": f"{c}-生活源", "county": c, "pollutant": "COD",
                            "year": y, "basis": "factor", "grams": grams,
                            "source": "城镇人口×70 g/人·日×365 日×未处理比例（合成，"
                                      "系数见 emission_factors.csv）"})  # fmt: skip
    return entries, projects


def setup(store: Store) -> int:
    """Load the model city's energy and reduction accounts (idempotent: rows are upserted)."""
    n = 0
    units = [{"id": f"{c}-{u}", "county": c, "kind": KINDS[u], "name": UNIT_NAMES[u],
              "synthetic": True} for c in COUNTIES for u in UNIT_NAMES]  # fmt: skip
    n += service.add_units(store, units, BY)
    n += service.record_uses(store, _use_rows(), BY)
    for y, r in EQUAL_VALUE.items():
        service.set_equal_value(store, y, r, "演示假设（非中电联公布值）", BY)
    n += service.set_gdp(store, _gdp_rows(), BY)
    # the total caps: the 2020 total grown by TOTAL_CAP_GROWTH (a demo parameter [M]: no county
    # cap of the model city was found)
    base = {
        **service.county_totals(store, 2020, list(COUNTIES)),
        **service.county_totals(store, 2020, [CITY]),
    }
    targets = [{"county": c, "year": 2025, "base_year": 2020, "intensity_fall": "0.135",
                "incentive_fall": "0.16", "basis": ea.EQUIVALENT,
                "total_cap_kgce": int(base[c].equivalent_kgce * TOTAL_CAP_GROWTH)
                if c in base else None,
                "source": "演示假设：参照全国“十四五”能耗强度降低13.5%；总量目标为2020年的1.10倍"}
               for c in [*COUNTIES, CITY]]  # fmt: skip
    n += service.set_targets(store, targets, BY)
    # the baseline the published 2016 savings imply (assumption C of the reconciliation test)
    service.set_baseline(store, "节能量基期（假设C）", CITY, 2015, 2015, "0.6496",
                         "荆门2016年公布节能量182.74万tce所隐含的基期强度（见 docs/energy.md）",
                         BY)  # fmt: skip
    n += service.add_measures(store, _measures(), BY)
    entries, projects = _emissions(store)
    n += service.record_emissions(store, entries, BY)
    n += service.add_projects(store, projects, BY)
    etargets = []
    for c in COUNTIES:
        etargets.append({"county": c, "pollutant": "COD", "base_year": 2020, "year": 2025,
                         "kind": "percent", "value": "0.08",
                         "source": "演示假设：参照国发〔2021〕33号全国 COD −8%"})  # fmt: skip
        for pol, t in (("COD", "60"), ("NH3N", "4"), ("NOX", "50")):
            etargets.append({"county": c, "pollutant": pol, "base_year": 2020, "year": 2025,
                             "kind": "tonnes", "value": t,
                             "source": "演示假设：重点工程减排量"})  # fmt: skip
    n += service.set_emission_targets(store, etargets, BY)
    return n

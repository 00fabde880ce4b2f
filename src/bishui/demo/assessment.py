"""The model city's assessment data: county scorecards for the last complete year and the
current one, the funds they allocate, natural-resource asset tables, one leader's term with
its departure-audit summary and one accountability case.

Everything here is **synthetic** and says so: the asset stocks are drawn from a seeded
generator (orders of magnitude chosen for a prefecture city, not Jingmen's survey figures), the
leader and the case are invented and marked （模拟）, the funds are demonstration amounts. The
scores themselves come from the platform's own (synthetic) monitoring, enforcement and
compensation data through the indicator sources; energy indicators show no data until the
energy domain provides them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from decimal import Decimal

from bishui.assessment import audit as au
from bishui.assessment import scorecard as sc
from bishui.assessment import service
from bishui.errors import InputError
from bishui.store import Store

BY = "demo"
ROLE = "admin"
SEED = 20261207
#: demonstration funds [fen]: a transfer payment and a compensation fund (not real budgets)
FUNDS = (
    (
        "2025年度生态功能区转移支付（演示资金）",
        "transfer",
        50_000_000_00,
        {"kind": "above_floor", "floor": 10},
    ),
    (
        "2025年度生态补偿奖励资金（演示资金）",
        "compensation",
        12_345_678_90,
        {"kind": "tiers", "tiers": [[0, 0], [10, 1], [25, 1.5], [40, 2]]},
    ),
)
#: resource → [(category, opening stock scale, unit decimals)] (synthetic orders of magnitude)
STOCKS: dict[str, list[tuple[str, int, int]]] = {
    "land": [
        ("耕地", 60_000, 2),
        ("林地", 40_000, 2),
        ("草地", 3_000, 2),
        ("湿地", 2_500, 2),
        ("建设用地", 15_000, 2),
    ],
    "forest": [("天然林", 1_500_000, 0), ("人工林", 2_000_000, 0)],
    "water": [("地表水", 80_000, 1), ("地下水", 12_000, 1)],
    "soil": [
        ("耕地质量等别 一至三等", 20_000, 2),
        ("耕地质量等别 四至六等", 30_000, 2),
        ("耕地质量等别 七至十等", 10_000, 2),
    ],
    "mineral": [("磷矿", 50_000_000, 0)],
}
HEAD = "county,year,resource,category,item,cause,quantity,unit\n"


def _survey(counties: list[str], years: list[int]) -> bytes:
    """A balanced synthetic survey: each year opens at the last closing."""
    from bishui.assessment.assets import RESOURCES

    rng = random.Random(SEED)
    rows = []
    for c in counties:
        for res, cats in STOCKS.items():
            unit = RESOURCES[res][2]
            for cat, scale, d in cats:
                q = Decimal(1).scaleb(-d)
                stock = (Decimal(scale) * Decimal(rng.uniform(0.5, 1.5))).quantize(q)
                for y in years:
                    rows.append(f"{c},{y},{res},{cat},opening,,{stock},{unit}")
                    moves = []
                    if res == "mineral":
                        moves.append(("decrease", "human", stock * Decimal("0.01")))
                        moves.append(("increase", "other", stock * Decimal("0.002")))
                    else:
                        moves.append(("increase", "human", stock * Decimal(rng.uniform(0, 0.01))))
                        moves.append(("decrease", "human", stock * Decimal(rng.uniform(0, 0.012))))
                        moves.append(
                            ("decrease", "natural", stock * Decimal(rng.uniform(0, 0.002)))
                        )
                    for item, cause, amount in moves:
                        amount = amount.quantize(q)
                        rows.append(f"{c},{y},{res},{cat},{item},{cause},{amount},{unit}")
                        stock += amount if item == "increase" else -amount
                    rows.append(f"{c},{y},{res},{cat},closing,,{stock},{unit}")
    return (HEAD + "\n".join(rows) + "\n").encode()


def _water_quality(store: Store, counties: list[str], year: int, now: dt.datetime) -> int:
    """The water-quality account (sections by class) of *year* taken from the platform's own
    water assessment, so the quality link shows the account agreeing with the monitoring."""
    from bishui.assessment import sources

    labels = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"]
    rows = []
    with sources.batch():
        for c in counties:
            by_class = sources.water_attainment(store, c, year).inputs.get("by_class") or []
            for label, n in zip(labels, by_class, strict=False):
                rows.append(f"{c},{year},water_quality,{label},opening,,{n},section")
                rows.append(f"{c},{year},water_quality,{label},closing,,{n},section")
    if rows:
        service.load_assets(
            store,
            (HEAD + "\n".join(rows) + "\n").encode(),
            filename="演示水环境质量账户（取自平台水质评价）.csv",
            by=BY,
            role=ROLE,
            now=now,
        )
    return len(rows) // 2


def setup(store: Store, now: dt.datetime) -> dict[str, int]:
    """Score, allocate, load the asset tables, and register the term and the case, once."""
    done = {"runs": 0, "allocations": 0, "asset_lines": 0, "terms": 0}
    if service.runs(store):
        return done  # already set up: the demo's later runs keep what is there
    counties = sorted(service.counties(store))
    last = now.year - 1
    run_ids = {}
    for year in (last, now.year):
        name = f"scorecard_{year}_demo"
        if name in sc.available():
            run_ids[year] = service.score_year(store, name, by=BY, role=ROLE, now=now)
            done["runs"] += 1
    if last in run_ids:
        for fund, kind, total, rule in FUNDS:
            # no county above the floor: nothing to share (refused by the rule), none stored
            with contextlib.suppress(InputError):
                service.allocate(
                    store,
                    run_ids[last],
                    fund=fund,
                    kind=kind,
                    rule=rule,
                    total_fen=total,
                    by=BY,
                    role="finance",
                    now=now,
                )
                done["allocations"] += 1
    years = [last - 1, last, now.year]
    service.load_assets(
        store,
        _survey(counties, years),
        filename="演示自然资源资产调查（合成数据）.csv",
        by=BY,
        role=ROLE,
        now=now,
    )
    done["asset_lines"] = sum(len(cats) for cats in STOCKS.values()) * len(counties) * len(years)
    done["asset_lines"] += _water_quality(store, counties, last, now)
    term = au.Term(
        "赵某（模拟）", "县长", "420822", dt.date(last - 1, 3, 1), dt.date(now.year, 6, 30)
    )
    tid = service.add_term(store, term, by=BY, role=ROLE, now=now)
    service.open_case(
        store,
        leader="赵某（模拟）",
        county="420822",
        article="5",
        item=6,
        forms=["admonition"],
        facts="任期内辖区发生一般突发环境事件，处置不力（模拟案例）",
        opened=dt.date(now.year, 7, 15),
        term_id=tid,
        by=BY,
        role=ROLE,
        now=now,
    )
    done["terms"] = 1
    return done

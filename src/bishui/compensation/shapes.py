"""The formula shapes of the notes' schemes (notes Part B, §B5–§B6.4).

Eight shapes, each a small pure function registered in :mod:`bishui.compensation.registry`:
``class_step``, ``flux_price``, ``index_baseline``, ``linear``, ``stepped_multiple``,
``air_change``, ``index_change``, ``fund_split``. Amounts are in 元, positive when the assessed
party receives. Importing this module registers them; the names of the registry are
re-exported here for convenience.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from bishui.compensation.inputs import CLASS_NAMES, PointInput
from bishui.compensation.quantity import parse_quantity
from bishui.compensation.registry import (
    SHAPES,
    MissingInput,
    Param,
    Shape,
    Step,
    TermResult,
    fmt,
    register_shape,
)
from bishui.compensation.registry import name_of as _name
from bishui.compensation.registry import previous_of as _previous
from bishui.compensation.registry import unit_of as _unit
from bishui.compensation.registry import value_of as _value

__all__ = [
    "SHAPES",
    "MissingInput",
    "Param",
    "Shape",
    "Step",
    "TermResult",
    "air_change",
    "class_step",
    "flux_price",
    "fmt",
    "fund_split",
    "index_baseline",
    "index_change",
    "linear",
    "register_shape",
    "stepped_multiple",
]

_MILLION = Decimal(1_000_000)


# --------------------------------------------------------------------------- class step


@register_shape(
    "class_step",
    (
        Param("neutral_best", "int", doc="best class that still pays nothing"),
        Param("neutral_worst", "int", doc="worst class that still pays nothing"),
        Param("amount", dimension="money"),
        Param("per_class", "bool", required=False, default=False),
    ),
    zh="按水质类别定额补偿",
    check=lambda p, _: _check_band(p),
)
def class_step(p: Mapping[str, Any], point: PointInput, _: tuple[str, ...]) -> TermResult:
    """Fixed amount by the section's class against a neutral band (高桥河; 豫鲁 basic part).

    Notes
    -----
    Class c (1–6, 6 = 劣Ⅴ) against the band [``neutral_best``, ``neutral_worst``]:
    c better than the band → the assessed (upstream) party receives; worse → it pays. With
    ``per_class`` the amount is multiplied by the number of classes beyond the band (豫鲁:
    "each class better than Ⅲ → 6000万"); without, it is a fixed amount (高桥河: worse than Ⅲ
    → upstream pays 500万, better than Ⅱ → downstream pays 500万). Notes §B6.3, §B6.4(5).
    """
    c = point.water_class
    if c is None:
        raise MissingInput("water_class")
    best, worst = p["neutral_best"], p["neutral_worst"]
    beyond = best - c if c < best else (worst - c if c > worst else 0)
    steps_count = Decimal(beyond if p["per_class"] else (beyond > 0) - (beyond < 0))
    amount = steps_count * p["amount"]
    band = f"{CLASS_NAMES[best]}–{CLASS_NAMES[worst]}"
    return TermResult(
        amount,
        (
            Step("class", f"断面水质类别 {CLASS_NAMES[c]}，不奖不罚区间 {band}", str(c), "class"),
            Step("classes_beyond", f"优于(+)/劣于(−)区间的级数 {beyond}", str(beyond), "class"),
            Step(
                "amount",
                f"{fmt(steps_count)} × {fmt(p['amount'])} 元 = {fmt(amount)} 元",
                fmt(amount),
                "元",
            ),
        ),
    )


def _check_band(p: Mapping[str, Any]) -> None:
    from bishui.errors import ConfigError

    for k in ("neutral_best", "neutral_worst"):
        if not 1 <= p[k] <= 6:
            raise ConfigError(f"params.{k}", "a GB 3838 class 1–6 (6 = 劣Ⅴ)", p[k])
    if p["neutral_best"] > p["neutral_worst"]:
        raise ConfigError("params.neutral_best", "not worse than neutral_worst", p["neutral_best"])


# --------------------------------------------------------------------------- flux × unit price


@register_shape(
    "flux_price",
    (
        Param("target", dimension="conc", per_indicator=True),
        Param("unit_price", dimension="money/mass", per_indicator=True),
        Param("credit_below_target", "bool", required=False, default=False),
    ),
    zh="超标污染物通量 × 补偿标准",
)
def flux_price(p: Mapping[str, Any], point: PointInput, codes: tuple[str, ...]) -> TermResult:
    """Excess pollutant flux times a unit price (镇江 太湖 regional scheme; 河南 豫政办〔2010〕9号).

    Notes
    -----
    Per indicator i: flux_i = (C_i − C_target,i) × V / 10⁶ [t], since (mg/L) × m³ = g;
    amount_i = flux_i × price_i [元]. The assessed party pays Σ amount_i (negative sign).
    Only excess is charged unless ``credit_below_target`` (a two-way variant) is set.
    Notes §B6.4(1)–(2); worked example 7.
    """
    volume = point.volume
    if volume is None:
        raise MissingInput("volume")
    steps = [Step("volume", f"期间断面水量 {fmt(volume)} m³", fmt(volume), "m³")]
    total = Decimal(0)
    for code in codes:
        c, target, price = _value(point, code), p["target"][code], p["unit_price"][code]
        excess = c - target
        charged = excess if (excess > 0 or p["credit_below_target"]) else Decimal(0)
        flux = charged * volume / _MILLION
        amount = flux * price
        total += amount
        text = (
            f"{_name(code)} 超标通量 = ({fmt(c)} − {fmt(target)}) mg/L × {fmt(volume)} m³"
            f" ÷ 10⁶ = {fmt(flux)} t"
            if charged
            else f"{_name(code)} {fmt(c)} mg/L 未超过目标值 {fmt(target)} mg/L，通量计 0 t"
        )
        steps.append(Step(f"{code}.flux", text, fmt(flux), "t"))
        steps.append(
            Step(
                f"{code}.amount",
                f"{_name(code)} {fmt(flux)} t × {fmt(price)} 元/t = {fmt(amount)} 元",
                fmt(amount),
                "元",
            )
        )
    steps.append(Step("sum", f"合计被考核方应缴 {fmt(total)} 元", fmt(total), "元"))
    return TermResult(-total, tuple(steps))


# --------------------------------------------------------------------------- index vs baseline


def _check_weights(p: Mapping[str, Any], codes: tuple[str, ...]) -> None:
    from bishui.errors import ConfigError

    s = sum((p["weight"][c] for c in codes), Decimal(0))
    if s != 1:
        raise ConfigError("params.weight", "weights sum to 1", fmt(s))
    for c in codes:
        if p["baseline"][c] <= 0:
            raise ConfigError(f"params.baseline.{c}", "greater than 0", fmt(p["baseline"][c]))


@register_shape(
    "index_baseline",
    (
        Param("k0", dimension="ratio", doc="水质稳定系数 K0"),
        Param("weight", dimension="ratio", per_indicator=True),
        Param("baseline", dimension="conc", per_indicator=True),
        Param("amount", dimension="money"),
        Param("threshold", dimension="ratio", required=False, default=Decimal(1)),
    ),
    zh="补偿指数 P 对照基本限值",
    check=_check_weights,
)
def index_baseline(p: Mapping[str, Any], point: PointInput, codes: tuple[str, ...]) -> TermResult:
    """Concentration index against a baseline, fixed transfer each way (新安江 pattern).

    Notes
    -----
    P = K0 × Σ k_i × C_i / C_i0. P ≤ threshold → the counterparty pays the assessed party
    ``amount``; P > threshold → the assessed party pays. The formula and K0 values are [R] in
    notes §B5, so every figure is a parameter with no default in code.
    """
    terms = []
    for code in codes:
        c = _value(point, code)
        terms.append(p["weight"][code] * c / p["baseline"][code])
    s = sum(terms, Decimal(0))
    index = p["k0"] * s
    amount = p["amount"] if index <= p["threshold"] else -p["amount"]
    parts = " + ".join(
        f"{fmt(p['weight'][c])}×{fmt(_value(point, c))}/{fmt(p['baseline'][c])}" for c in codes
    )
    return TermResult(
        amount,
        (
            Step("p", f"P = {fmt(p['k0'])} × ({parts}) = {fmt(index)}", fmt(index), "1"),
            Step(
                "amount",
                f"P {'≤' if index <= p['threshold'] else '>'} {fmt(p['threshold'])}，"
                f"金额 {fmt(amount)} 元",
                fmt(amount),
                "元",
            ),
        ),
    )


# --------------------------------------------------------------------------- linear


@register_shape(
    "linear",
    (
        Param("reference", dimension="conc", per_indicator=True),
        Param("coefficient", dimension="money/conc", per_indicator=True),
    ),
    zh="浓度差 × 系数（线性）",
)
def linear(p: Mapping[str, Any], point: PointInput, codes: tuple[str, ...]) -> TermResult:
    """Linear in the concentration difference, two-way (菏泽 county scheme).

    Notes
    -----
    amount = Σ (reference_i − C_i) × coefficient_i; positive = reward to the assessed party,
    negative = it pays. 菏泽: (30 − COD) × 2万 + (1.5 − NH3-N) × 30万 (notes §B6.4(4)).
    """
    steps = []
    total = Decimal(0)
    for code in codes:
        c, ref, coef = _value(point, code), p["reference"][code], p["coefficient"][code]
        a = (ref - c) * coef
        total += a
        steps.append(
            Step(
                f"{code}.amount",
                f"{_name(code)} ({fmt(ref)} − {fmt(c)}) {_unit(code)}"
                f" × {fmt(coef)} 元/({_unit(code)}) = {fmt(a)} 元",
                fmt(a),
                "元",
            )
        )
    steps.append(Step("sum", f"合计 {fmt(total)} 元", fmt(total), "元"))
    return TermResult(total, tuple(steps))


# --------------------------------------------------------------------------- stepped × (1 + m)


def _brackets(raw: Any, field: str) -> tuple[tuple[Decimal, Decimal], ...]:
    from bishui.errors import ConfigError

    if not isinstance(raw, list) or not raw:
        raise ConfigError(field, "a non-empty list of {above, base}", raw)
    out: list[tuple[Decimal, Decimal]] = []
    for i, b in enumerate(raw):
        if not isinstance(b, Mapping) or set(b) != {"above", "base"}:
            raise ConfigError(f"{field}[{i}]", "a table with exactly above and base", b)
        try:
            above, base = parse_quantity(b["above"]), parse_quantity(b["base"])
        except ValueError as exc:
            raise ConfigError(f"{field}[{i}]", str(exc), b) from None
        if above.dimension != "ratio":
            raise ConfigError(f"{field}[{i}].above", "an exceedance multiple (no unit)", b["above"])
        if base.dimension != "money":
            raise ConfigError(f"{field}[{i}].base", "unit 元, 万元 or 亿元", b["base"])
        if out and above.value <= out[-1][0]:
            raise ConfigError(f"{field}[{i}].above", "strictly increasing", b["above"])
        out.append((above.value, base.value))
    return tuple(out)


@register_shape(
    "stepped_multiple",
    (
        Param("standard", dimension="conc", per_indicator=True),
        Param("brackets", "custom", convert=_brackets),
        Param("combine", "choice", required=False, default="sum", choices=("sum", "max")),
    ),
    zh="按超标倍数分档 × (1 + 超标倍数)",
)
def stepped_multiple(p: Mapping[str, Any], point: PointInput, codes: tuple[str, ...]) -> TermResult:
    """Stepped amount times (1 + exceedance multiple) (周口 scheme).

    Notes
    -----
    m_i = (C_i − S_i) / S_i (the 超标倍数 of 环办〔2011〕22号). The bracket with the largest
    ``above`` < m applies (brackets are lower-exclusive, upper-inclusive, as 周口's
    "0.1 < m ≤ 0.5"); amount_i = base × (1 + m_i), paid by the assessed party. m not above
    the first bracket is not charged. Indicators combine by ``sum`` or ``max``. Notes
    §B6.4(3); worked example 8.
    """
    steps = []
    amounts = []
    for code in codes:
        c, s = _value(point, code), p["standard"][code]
        m = (c - s) / s
        base = Decimal(0)
        for above, b in p["brackets"]:
            if m > above:
                base = b
        a = base * (1 + m)
        amounts.append(a)
        steps.append(
            Step(
                f"{code}.multiple",
                f"{_name(code)} 超标倍数 m = ({fmt(c)} − {fmt(s)}) / {fmt(s)} = {fmt(m)}",
                fmt(m),
                "1",
            )
        )
        steps.append(
            Step(
                f"{code}.amount",
                f"{_name(code)} 档位基数 {fmt(base)} 元 × (1 + {fmt(m)}) = {fmt(a)} 元",
                fmt(a),
                "元",
            )
        )
    total = sum(amounts, Decimal(0)) if p["combine"] == "sum" else max(amounts)
    steps.append(
        Step(
            "sum",
            f"{'合计' if p['combine'] == 'sum' else '取最大'} {fmt(total)} 元",
            fmt(total),
            "元",
        )
    )
    return TermResult(-total, tuple(steps))


# --------------------------------------------------------------------------- air: per µg/m³


@register_shape(
    "air_change",
    (
        Param("coefficient", dimension="money/conc", doc="资金系数 m1/m2"),
        Param("k_improve", dimension="ratio"),
        Param("k_worsen", dimension="ratio"),
    ),
    zh="按浓度同比变化（元/µg/m³）",
)
def air_change(p: Mapping[str, Any], point: PointInput, codes: tuple[str, ...]) -> TermResult:
    """Money per µg/m³ of year-on-year change (湖北省环境空气质量生态补偿暂行办法 第六条).

    Notes
    -----
    M = Σ_i (C_i,上年 − C_i,本年) × m × k, with k = ``k_improve`` for an indicator that
    improved and ``k_worsen`` for one that worsened (the text's m and k were not found; the
    notes allow them to differ by direction — an interpretation, docs/compensation.md).
    Positive = the assessed place receives; negative = deducted. Notes §B6.1; example 11.
    """
    steps = []
    total = Decimal(0)
    for code in codes:
        prev, cur = _previous(point, code), _value(point, code)
        delta = prev - cur
        k = p["k_improve"] if delta > 0 else p["k_worsen"]
        a = delta * p["coefficient"] * k
        total += a
        steps.append(
            Step(
                f"{code}.amount",
                f"{_name(code)} ({fmt(prev)} − {fmt(cur)}) µg/m³"
                f" × {fmt(p['coefficient'])} 元/(µg/m³) × k {fmt(k)} = {fmt(a)} 元",
                fmt(a),
                "元",
            )
        )
    steps.append(Step("sum", f"合计 {fmt(total)} 元", fmt(total), "元"))
    return TermResult(total, tuple(steps))


# --------------------------------------------------------------------------- index change


def _figure_name(raw: Any, field: str) -> str:
    from bishui.errors import ConfigError

    if not isinstance(raw, str) or not raw:
        raise ConfigError(field, "the name of a figure of the point input", raw)
    return raw


@register_shape(
    "index_change",
    (
        Param("amount_per_point", dimension="money/point"),
        Param("fractional", "choice", choices=("whole_points", "pro_rata")),
        Param("figure", "custom", required=False, default="index_change", convert=_figure_name),
    ),
    zh="按指数同比变化百分点",
)
def index_change(p: Mapping[str, Any], point: PointInput, _: tuple[str, ...]) -> TermResult:
    """Money per percentage point of year-on-year change of an index (豫鲁 change part; 山东).

    Notes
    -----
    The input figure (default ``index_change``) is the year-on-year change of the key-pollutant
    index [percentage points]; a fall (negative) is an improvement and the assessed party
    receives ``amount_per_point`` per point. How the index is built, and whether fractional
    points count pro rata, were not found (notes worked example 9): ``fractional`` must say
    (``whole_points`` truncates toward zero).
    """
    name = p["figure"]
    if name not in point.figures:
        raise MissingInput(f"figures.{name}")
    change = point.figures[name]
    points = change if p["fractional"] == "pro_rata" else change.to_integral_value(ROUND_DOWN)
    amount = -points * p["amount_per_point"]
    return TermResult(
        amount,
        (
            Step("change", f"指数同比变化 {fmt(change)} 个百分点", fmt(change), "point"),
            Step(
                "amount",
                f"−({fmt(points)}) × {fmt(p['amount_per_point'])} 元/百分点 = {fmt(amount)} 元",
                fmt(amount),
                "元",
            ),
        ),
    )


# --------------------------------------------------------------------------- pooled fund


def _components(raw: Any, field: str) -> dict[str, dict[str, Any]]:
    from bishui.errors import ConfigError

    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(field, "a table of components {share, figure, baseline}", raw)
    out: dict[str, dict[str, Any]] = {}
    for name, c in raw.items():
        f = f"{field}.{name}"
        if not isinstance(c, Mapping) or set(c) - {"share", "figure", "baseline", "zh"}:
            raise ConfigError(f, "a table with share, figure, baseline (and zh)", c)
        for k in ("share", "figure", "baseline"):
            if k not in c:
                raise ConfigError(f"{f}.{k}", "required", None)
        if not isinstance(c["figure"], str) or not c["figure"]:
            raise ConfigError(f"{f}.figure", "the name of a figure of the point input", c["figure"])
        try:
            share, base = parse_quantity(c["share"]), parse_quantity(c["baseline"])
        except ValueError as exc:
            raise ConfigError(f, str(exc), c) from None
        if share.dimension != "ratio" or not 0 <= share.value <= 1:
            raise ConfigError(f"{f}.share", "a ratio between 0 and 1", c["share"])
        if base.value <= 0:
            raise ConfigError(f"{f}.baseline", "greater than 0", c["baseline"])
        out[name] = {
            "share": share.value,
            "figure": str(c["figure"]),
            "baseline": base.value,
            "unit": base.text.removeprefix(str(c["baseline"]).split()[0]).strip(),
            "zh": str(c.get("zh", name)),
        }
    total = sum((c["share"] for c in out.values()), Decimal(0))
    if total != 1:
        raise ConfigError(f"{field}.share", "shares sum to 1", fmt(total))
    return out


@register_shape(
    "fund_split",
    (
        Param("fund", dimension="money"),
        Param("components", "custom", convert=_components),
        Param("performance_cap", dimension="ratio", required=False, default=Decimal(1)),
    ),
    zh="定额资金按要素比例与考核结果分配",
)
def fund_split(p: Mapping[str, Any], point: PointInput, _: tuple[str, ...]) -> TermResult:
    """A fixed fund split into components, each paid by performance against a baseline (漳河库区).

    Notes
    -----
    amount = Σ_j fund × share_j × min(actual_j / baseline_j, performance_cap). 漳河库区
    (notes §B6.3, [V2]): fund 450万/yr, water 80 %, forest 20 %; the baseline is the 2020
    public-welfare-forest area and the reservoir at Class Ⅰ for 10 months. The published
    adjustment of the actual value is not known in detail; this proportional rule is the model
    city's (docs/compensation.md).
    """
    steps = []
    total = Decimal(0)
    for name, c in p["components"].items():
        if c["figure"] not in point.figures:
            raise MissingInput(f"figures.{c['figure']}")
        actual = point.figures[c["figure"]]
        ratio = min(actual / c["baseline"], p["performance_cap"])
        ratio = max(ratio, Decimal(0))
        a = p["fund"] * c["share"] * ratio
        total += a
        steps.append(
            Step(
                f"{name}.amount",
                f"{c['zh']}：{fmt(p['fund'])} 元 × {fmt(c['share'])} × min({fmt(actual)} / "
                f"{fmt(c['baseline'])}{' ' + c['unit'] if c['unit'] else ''},"
                f" {fmt(p['performance_cap'])}) = {fmt(a)} 元",
                fmt(a),
                "元",
            )
        )
    steps.append(Step("sum", f"合计 {fmt(total)} 元", fmt(total), "元"))
    return TermResult(total, tuple(steps))

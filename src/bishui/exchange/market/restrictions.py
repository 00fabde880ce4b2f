"""Hubei's restrictions on emission-rights trades, as checks the registry runs before a transfer.

Source: 湖北环境资源交易中心 FAQ (https://www.hberec.com/list/20.html?page=3), exchange-and-permits
notes §A2 [V]:

1. trading stays in the province (``outside_province``);
2. **air pollutants trade only within the same 市州** (``air_cross_city``) and **water
   pollutants only within the same basin** (``water_cross_basin``); a cross-city or cross-basin
   trade needs the province's approval (``TradeUnits.provincial_approval``);
3. industrial sources may not trade with agricultural sources (``industry_agriculture``);
4. **thermal power may not trade air pollutants with other industries**
   (``thermal_power_air``);
5. an area that misses its environmental-quality targets may not trade so as to raise its total
   (``non_attainment_increase``): the buyer's 市州 misses its targets and the seller is outside
   it.

The FAQ is about emission rights (排污权): for other instruments no rule applies.

Each rule is a function ``(seller, buyer, trade) -> Refusal | None`` over plain dataclasses;
:func:`check_transfer` runs a tuple of them (:data:`HUBEI_RULES` by default) and returns every
refusal, so the registry can show all reasons at once. A 市州 is read from the GB/T 2260 code:
the first four digits, except for province-administered county-level units (``xx90xx``: in
Hubei 仙桃, 潜江, 天门 and 神农架林区), which are each a 市州 of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bishui.errors import InputError
from bishui.exchange.instruments import Instrument, right_pollutant
from bishui.exchange.market.money import check_int
from bishui.exchange.market.refusals import Refusal

Sector = Literal["industry", "agriculture", "other"]

#: GB/T 2260 province prefix of Hubei.
HUBEI = "42"


@dataclass(frozen=True)
class Party:
    """A party to a trade, as the restrictions see it.

    Attributes
    ----------
    party_id : str
    region : str
        GB/T 2260 six-digit code of where the unit is (its county or district).
    basin : str
        The river basin its wastewater reaches ("" when it has none).
    sector : {"industry", "agriculture", "other"}
        Its source category (工业源 / 农业源 / other).
    thermal_power : bool
        Whether it is a thermal power unit (火电).
    area_attains_targets : bool
        Whether its 市州 meets its environmental-quality targets for the pollutant's medium.
    """

    party_id: str
    region: str
    basin: str
    sector: Sector
    thermal_power: bool
    area_attains_targets: bool

    def __post_init__(self) -> None:
        if len(self.region) != 6 or not self.region.isdigit():
            raise InputError("region", "a six-digit GB/T 2260 code", self.region)
        if self.sector not in ("industry", "agriculture", "other"):
            raise InputError("sector", "industry, agriculture or other", self.sector)


@dataclass(frozen=True)
class TradeUnits:
    """What moves: the instrument, pollutant (HJ 212 code) and quantity [registry unit]."""

    instrument: Instrument
    pollutant: str
    units: int
    #: the province approved a cross-city (air) or cross-basin (water) trade
    provincial_approval: bool = False

    def __post_init__(self) -> None:
        check_int(self.units, "units", minimum=1)
        if self.instrument == Instrument.EMISSION_RIGHT:
            right_pollutant(self.pollutant)


Rule = Callable[[Party, Party, TradeUnits], Refusal | None]


def prefecture(region: str) -> str:
    """The 市州 of a GB/T 2260 code (module docstring): ``420802`` → ``420800``."""
    if region[2:4] == "90":
        return region
    return region[:4] + "00"


def _medium(trade: TradeUnits) -> str | None:
    if trade.instrument != Instrument.EMISSION_RIGHT:
        return None
    return right_pollutant(trade.pollutant).medium


def in_province(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 1: both parties in Hubei (hberec FAQ, notes §A2 [V])."""
    if _medium(trade) is None:
        return None
    if seller.region[:2] == HUBEI and buyer.region[:2] == HUBEI:
        return None
    return Refusal("outside_province", "排污权交易限于省内", "emission rights trade within Hubei")


def air_same_city(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 2 (air): same 市州 unless the province approved (hberec FAQ, notes §A2 [V])."""
    if _medium(trade) != "air" or trade.provincial_approval:
        return None
    if prefecture(seller.region) == prefecture(buyer.region):
        return None
    return Refusal(
        "air_cross_city",
        "大气污染物排污权仅限同一市州内交易，跨市州须经省级批准",
        "air-pollutant rights trade within one city unless the province approves",
    )


def water_same_basin(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 2 (water): same basin unless the province approved (hberec FAQ, notes §A2 [V])."""
    if _medium(trade) != "water" or trade.provincial_approval:
        return None
    if seller.basin and seller.basin == buyer.basin:
        return None
    return Refusal(
        "water_cross_basin",
        "水污染物排污权仅限同一流域内交易，跨流域须经省级批准",
        "water-pollutant rights trade within one basin unless the province approves",
    )


def industry_agriculture(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 3: no trade between industrial and agricultural sources (notes §A2 [V])."""
    if _medium(trade) is None or {seller.sector, buyer.sector} != {"industry", "agriculture"}:
        return None
    return Refusal(
        "industry_agriculture",
        "工业污染源与农业污染源之间不得交易",
        "industrial and agricultural sources may not trade with each other",
    )


def thermal_power_air(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 4: thermal power trades air pollutants only with thermal power (notes §A2 [V])."""
    if _medium(trade) != "air" or seller.thermal_power == buyer.thermal_power:
        return None
    return Refusal(
        "thermal_power_air",
        "火电企业不得与其他行业进行大气污染物排污权交易",
        "thermal power may not trade air-pollutant rights with other industries",
    )


def non_attainment_increase(seller: Party, buyer: Party, trade: TradeUnits) -> Refusal | None:
    """Rule 5: a buyer's 市州 that misses its targets may not gain from outside (notes §A2 [V])."""
    if _medium(trade) is None or buyer.area_attains_targets:
        return None
    if prefecture(seller.region) == prefecture(buyer.region):
        return None  # within the area: its total does not change
    return Refusal(
        "non_attainment_increase",
        "未完成环境质量目标的地区不得通过交易增加本地区排污总量",
        "an area missing its quality targets may not raise its total by trading",
    )


#: The hberec FAQ's rules, in the order above.
HUBEI_RULES: tuple[Rule, ...] = (
    in_province,
    air_same_city,
    water_same_basin,
    industry_agriculture,
    thermal_power_air,
    non_attainment_increase,
)


def check_transfer(
    seller: Party, buyer: Party, trade: TradeUnits, rules: Sequence[Rule] = HUBEI_RULES
) -> list[Refusal]:
    """Every refusal *rules* give for moving *trade* from *seller* to *buyer* (empty: allowed).

    Returns
    -------
    list of Refusal
        ``(code, zh, en)`` for each rule that refuses, in the rules' order.
    """
    if seller.party_id == buyer.party_id:
        raise InputError("buyer", "a party other than the seller", buyer.party_id)
    return [r for rule in rules if (r := rule(seller, buyer, trade)) is not None]

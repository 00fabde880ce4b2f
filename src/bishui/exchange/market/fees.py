"""Paid use of emission rights (排污权有偿使用): fee schedules, the fee and its instalments.

财税〔2015〕61号 《排污权出让收入管理暂行办法》 (exchange-and-permits notes §A2 [V]):

* existing units obtain their rights by **定额出让** (fixed-fee allocation); new projects,
  expansions and new increments by **公开出让** (auction, listing, agreement — see
  :mod:`bishui.exchange.market.bidding`);
* **fee = the permit-confirmed quantity × the fee rate set by the province** (per year);
* the right is valid for five years in principle; large fees may be paid in instalments.

Fee schedules are TOML files in ``data/`` (``fees_<region>_<published date>.toml``), keyed by
the pollutant's HJ 212 code, with their source, date and verification tag; one is selected by
id. The only schedule the notes give is 株洲's (Hunan) — shipped and labelled as an example
from another province (``example = true``); Hubei's rates are not in the notes.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError, InputError
from bishui.exchange.instruments import RIGHT_POLLUTANTS, right_pollutant
from bishui.exchange.market.money import (
    DEFAULT_ROUNDING,
    Rounding,
    apportion,
    check_int,
    round_fen,
)

SCHEMA = "bishui.exchange.fee_schedule/1"
_PREFIX = "fees_"


@dataclass(frozen=True)
class FeeSchedule:
    """A sourced, dated fee schedule (one data file)."""

    id: str
    title: str
    #: GB/T 2260 code of the issuing area
    region: str
    #: True when the schedule is shipped as an example (not the deployment's own province)
    example: bool
    published: dt.date
    source: str
    #: verification tag of the figures: "V", "S" or "M"
    tag: str
    #: paid-use fee rate per pollutant [fen / (t·a)]
    paid_use: Mapping[str, int]
    #: trading base price per pollutant [fen / t] (empty when the schedule gives none)
    base_price: Mapping[str, int]


def _fen_table(doc: Mapping[str, Any], key: str, required: bool) -> dict[str, int]:
    table = doc.get(key)
    if table is None and not required:
        return {}
    if not isinstance(table, dict) or not table:
        raise ConfigError(key, "a table of pollutant code → amount in CNY", table)
    out: dict[str, int] = {}
    for code, text in table.items():
        right_pollutant(code, field=f"{key}.{code}")
        try:
            cny = Decimal(str(text))
        except InvalidOperation:
            raise ConfigError(f"{key}.{code}", "a decimal amount in CNY", text) from None
        fen = cny * 100
        if not cny.is_finite() or cny < 0 or fen != fen.to_integral_value():
            raise ConfigError(f"{key}.{code}", "a whole number of fen >= 0", text)
        out[code] = int(fen)
    return out


def parse_schedule(doc: Mapping[str, Any]) -> FeeSchedule:
    """A fee schedule from its parsed TOML; :class:`ConfigError` naming the field otherwise."""
    if doc.get("schema") != SCHEMA:
        raise ConfigError("schema", SCHEMA, doc.get("schema"))
    for key in ("id", "title", "region", "source"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise ConfigError(key, "a non-empty string", doc.get(key))
    if not isinstance(doc.get("example"), bool):
        raise ConfigError("example", "true or false", doc.get("example"))
    if not isinstance(doc.get("published"), dt.date):
        raise ConfigError("published", "a TOML date", doc.get("published"))
    if doc.get("tag") not in ("V", "S", "M"):
        raise ConfigError("tag", "V, S or M", doc.get("tag"))
    return FeeSchedule(
        id=doc["id"],
        title=doc["title"],
        region=doc["region"],
        example=doc["example"],
        published=doc["published"],
        source=doc["source"],
        tag=doc["tag"],
        paid_use=_fen_table(doc, "paid_use_cny_per_t_a", required=True),
        base_price=_fen_table(doc, "base_price_cny_per_t", required=False),
    )


def _data() -> Any:
    return resources.files("bishui.exchange.market") / "data"


def schedules() -> dict[str, str]:
    """The packaged schedules: id → file name."""
    out: dict[str, str] = {}
    for f in _data().iterdir():
        if f.name.startswith(_PREFIX) and f.name.endswith(".toml"):
            out[tomllib.loads(f.read_text("utf-8"))["id"]] = f.name
    return out


def load_schedule(which: str | Path) -> FeeSchedule:
    """The packaged schedule with id *which*, or a schedule file at a :class:`Path`."""
    if isinstance(which, Path):
        text = which.read_text("utf-8")
    else:
        files = schedules()
        if which not in files:
            raise InputError("schedule", "one of " + ", ".join(sorted(files)), which)
        text = (_data() / files[which]).read_text("utf-8")
    try:
        return parse_schedule(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("schedule", f"not valid TOML: {e}", str(which)) from None


def paid_use_fee(
    units: int,
    pollutant: str,
    years: int,
    schedule: FeeSchedule,
    rounding: Rounding = DEFAULT_ROUNDING,
) -> int:
    """The paid-use fee of one pollutant's confirmed quantity.

    Parameters
    ----------
    units : int
        Permit-confirmed quantity [kg/a].
    pollutant : str
        HJ 212 code (w01018 COD, w21003 NH3-N, a21026 SO2, a21002 NOx).
    years : int
        Years paid for (≥ 1; the validity is five years in principle) [a].
    schedule : FeeSchedule
        The province's rates [fen/(t·a)].
    rounding : {"half_up", "half_even", "down"}
        How a fraction of a fen is rounded (:mod:`bishui.exchange.market.money`).

    Returns
    -------
    int
        ``rate × units/1000 × years`` [fen], rounded once.

    Notes
    -----
    财税〔2015〕61号: fee = permit-confirmed quantity × provincial rate (notes §A2 [V]).
    """
    check_int(units, "units")
    check_int(years, "years", minimum=1)
    right_pollutant(pollutant)
    if pollutant not in schedule.paid_use:
        raise InputError("pollutant", f"a pollutant with a rate in {schedule.id}", pollutant)
    return round_fen(Fraction(schedule.paid_use[pollutant] * units * years, 1000), rounding)


@dataclass(frozen=True)
class FeeLine:
    pollutant: str
    units: int
    rate_fen: int
    fee_fen: int


@dataclass(frozen=True)
class FeeAssessment:
    """定额出让 of an existing unit's rights: one line per pollutant and the total [fen]."""

    schedule_id: str
    years: int
    lines: tuple[FeeLine, ...]
    total_fen: int


def fixed_allocation(
    rights: Mapping[str, int],
    years: int,
    schedule: FeeSchedule,
    rounding: Rounding = DEFAULT_ROUNDING,
) -> FeeAssessment:
    """The 定额出让 fee of an existing unit's confirmed rights.

    Each pollutant's fee is rounded to the fen on its own line, and the total is the sum of
    the lines (so the lines shown add up). Lines follow the HJ 212 code order of
    :data:`~bishui.exchange.instruments.RIGHT_POLLUTANTS`.

    财税〔2015〕61号: existing units by 定额出让 (notes §A2 [V]).
    """
    lines = tuple(
        FeeLine(
            code,
            rights[code],
            schedule.paid_use.get(code, 0),
            paid_use_fee(rights[code], code, years, schedule, rounding),
        )
        for code in RIGHT_POLLUTANTS
        if code in rights
    )
    for code in rights:
        if code not in RIGHT_POLLUTANTS:
            right_pollutant(code, field=f"rights.{code}")
    return FeeAssessment(schedule.id, years, lines, sum(x.fee_fen for x in lines))


@dataclass(frozen=True)
class Instalment:
    number: int
    due: dt.date
    amount_fen: int


def add_months(day: dt.date, months: int) -> dt.date:
    """*day* moved by *months* calendar months, clamped to the month's last day."""
    m = day.month - 1 + months
    y, m = day.year + m // 12, m % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def instalments(total_fen: int, n: int, first_due: dt.date, every_months: int) -> list[Instalment]:
    """Split a fee into *n* instalments of whole fen that sum exactly to *total_fen*.

    Parameters
    ----------
    total_fen : int
        The fee [fen].
    n : int
        Number of instalments (≥ 1).
    first_due : date
        Due date of the first instalment.
    every_months : int
        Months between due dates (≥ 1) [month]; a day past a month's end is clamped to it.

    Returns
    -------
    list of Instalment
        Equal parts; the fen left over go one each to the earliest instalments.

    Notes
    -----
    财税〔2015〕61号: large fees may be paid in instalments (notes §A2 [V]); the number and
    spacing are set by the province and are parameters here.
    """
    check_int(total_fen, "total_fen")
    check_int(n, "n", minimum=1)
    check_int(every_months, "every_months", minimum=1)
    parts = apportion(total_fen, [1] * n)
    return [
        Instalment(i + 1, add_months(first_due, i * every_months), a) for i, a in enumerate(parts)
    ]

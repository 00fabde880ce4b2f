"""The funds a project may draw on and their rules, as data (``data/fund-rules.toml``).

Each fund lists its eligible uses and, per use, an optional cap: the largest share of the
project's allocation from that fund that may be disbursed for the use, cumulatively. Which uses
and caps apply to Jingmen's 生态建设专项资金 is not in any text read (notes §5), so the file's
lists are documented choices (``tag = "choice"``), each fund naming its source; a deployment
replaces the file (:func:`load_rules` takes a path).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path

from bishui.errors import ConfigError, ConflictError, InputError


@dataclass(frozen=True)
class Fund:
    code: str
    name: tuple[str, str]
    uses: tuple[str, ...]
    caps: Mapping[str, Fraction]
    source: str
    tag: str


@dataclass(frozen=True)
class Rules:
    edition: str
    uses: Mapping[str, tuple[str, str]]
    funds: Mapping[str, Fund]

    def fund(self, code: str) -> Fund:
        if code not in self.funds:
            raise InputError("fund", "one of " + ", ".join(self.funds), code)
        return self.funds[code]


def _parse(data: Mapping[str, object]) -> Rules:
    try:
        uses = {k: (str(v[0]), str(v[1])) for k, v in dict(data["uses"]).items()}  # type: ignore[call-overload]
        funds: dict[str, Fund] = {}
        for f in data["fund"]:  # type: ignore[attr-defined]
            bad = [u for u in f["uses"] if u not in uses] + [
                u for u in f["caps"] if u not in f["uses"]
            ]
            if bad:
                raise ConfigError("fund.uses", "uses declared in [uses] (caps of listed uses)", bad)
            caps = {u: Fraction(Decimal(str(c))) for u, c in f["caps"].items()}
            if any(not 0 < c <= 1 for c in caps.values()):
                raise ConfigError("fund.caps", "shares in (0, 1]", f["code"])
            funds[f["code"]] = Fund(f["code"], (f["name"][0], f["name"][1]), tuple(f["uses"]),
                                    caps, f["source"], f["tag"])  # fmt: skip
        return Rules(str(data["edition"]), uses, funds)
    except (KeyError, TypeError, IndexError) as e:
        raise ConfigError("fund-rules", "the layout of data/fund-rules.toml", str(e)) from None


@cache
def _default() -> Rules:
    text = (resources.files("bishui.programmes") / "data" / "fund-rules.toml").read_text("utf-8")
    return _parse(tomllib.loads(text))


def load_rules(path: Path | None = None) -> Rules:
    """The packaged rules, or those of the TOML file at *path*."""
    if path is None:
        return _default()
    return _parse(tomllib.loads(path.read_text(encoding="utf-8")))


def check_disbursement(
    rules: Rules, fund: str, use: str, amount_fen: int, allocated_fen: int, used_fen: int
) -> None:
    """Refuse a disbursement of *amount_fen* for *use* from *fund* that the rules do not allow.

    *allocated_fen* is the project's allocation from the fund; *used_fen* what was already
    disbursed for the same use from it. The allocation limit itself is the ledger's
    (:func:`bishui.programmes.money.post`).
    """
    f = rules.fund(fund)
    if use not in f.uses:
        raise InputError("use", f"an eligible use of {fund}: {', '.join(f.uses)}", use)
    cap = f.caps.get(use)
    if cap is not None and used_fen + amount_fen > cap * allocated_fen:
        limit = int(cap * allocated_fen)
        raise ConflictError(f"{fund}: {use} capped at {cap.numerator}/{cap.denominator} of the "
                            f"allocation ({limit} fen); {used_fen} fen already used")  # fmt: skip

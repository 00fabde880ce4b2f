"""The leadership departure audit (离任审计) and the accountability register (责任追究).

The summary for a leader and a term follows what the notes list an audit as needing (notes
§4.1 [S]; 《领导干部自然资源资产离任审计规定（试行）》2017, Arts. 2–5 [V] for its scope): the
constraint targets met or missed in each year of the term (from the stored scorecards), the
change of the natural-resource asset stocks from the opening of the first year to the closing
of the last (from the asset tables), major incidents and the enforcement record over the term
(from bishui.enforcement). It grades nothing: the 100-point audit scoring with five grades is
written for provincial leaders and its blocks after the first are not known (notes §4.1 [S],
open question 8).

An accountability case names its basis as an article and item of 《党政领导干部生态环境损害
责任追究办法（试行）》(2015; Arts. 5–8, data/accountability_2015.toml) and its forms from the
measures' list. Cases are pursued for life (终身追究, Art. 4 [S]): a case may be opened after the
leader has left office, so the register is not bound to the term.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from bishui.errors import InputError

DATA = Path(__file__).parent / "data"
CASE_STATES = ("open", "decided", "closed")


@cache
def measures() -> dict[str, Any]:
    """The 2015 measures' articles and forms (data/accountability_2015.toml)."""
    with open(DATA / "accountability_2015.toml", "rb") as f:
        return tomllib.load(f)


def check_basis(article: str, item: int) -> None:
    """Refuse a basis the 2015 measures do not have (Arts. 5–8 and their items)."""
    arts = {a["article"]: a for a in measures()["articles"]}
    if article not in arts:
        raise InputError("article", f"one of {', '.join(arts)} (2015 measures)", article)
    n = int(arts[article]["items"])
    if not 1 <= item <= n:
        raise InputError("item", f"1–{n} under Art. {article}", item)


def check_forms(forms: list[str]) -> None:
    known = measures()["forms"]
    bad = [f for f in forms if f not in known]
    if bad or not forms:
        raise InputError("forms", f"one or more of {', '.join(known)}", bad or forms)


@dataclass(frozen=True)
class Term:
    leader: str
    post: str
    county: str
    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if not self.leader.strip() or len(self.leader) > 64:
            raise InputError("leader", "1–64 characters", self.leader)
        if self.end < self.start:
            raise InputError("end", "on or after the start of the term", str(self.end))

    @property
    def years(self) -> list[int]:
        return list(range(self.start.year, self.end.year + 1))


def asset_change(
    opening: dict[tuple[str, str], Decimal], closing: dict[tuple[str, str], Decimal]
) -> list[dict[str, Any]]:
    """Per (resource, category): the stock at the opening of the term, at its close and the
    change (exact). A category on one side only shows the other side as missing."""
    out = []
    for key in sorted(set(opening) | set(closing)):
        a, b = opening.get(key), closing.get(key)
        out.append(
            {
                "resource": key[0],
                "category": key[1],
                "opening": None if a is None else str(a),
                "closing": None if b is None else str(b),
                "change": None if a is None or b is None else str(b - a),
            }
        )
    return out


def targets_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Count of indicators with a target met, missed or without data over the term's years.

    *results*: rows ``{"year", "indicator", "met": True/False/None}``.
    """
    met = sum(1 for r in results if r["met"] is True)
    missed = sum(1 for r in results if r["met"] is False)
    none = sum(1 for r in results if r["met"] is None)
    return {"met": met, "missed": missed, "no_data": none, "rows": results}

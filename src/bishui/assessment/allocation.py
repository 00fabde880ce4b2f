"""Turning scores into shares of a fund: transfer payments and compensation funds.

The rule is declared, never implicit (the plan makes the scores "财政转移支付、生态补偿资金安排
的重要依据" but no published text fixes a formula for the model city; notes §5.3 [S] — the
national key-ecological-function-zone transfer allocates by formula from objective factors and
adjusts by performance, its thresholds and proportions an open question). Rules:

``proportional``
    shares ∝ score.
``above_floor``
    shares ∝ max(score − floor, 0): a county at or below the floor gets nothing.
``tiers``
    each county's score falls into a tier (``[min, coefficient]`` pairs, the highest ``min``
    not above the score); shares ∝ coefficient (a base amount per county times a grade factor).

Money is integer fen. The total is split by the **largest-remainder method** (Hamilton):
each county first gets the floor of its exact quota, and the fen left over go one each to the
largest remainders; ties are broken by county code (ascending), so the result is
deterministic. The parts sum to the total exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bishui.errors import InputError

RULES = ("proportional", "above_floor", "tiers")
MAX_FEN = 10**15  # 10 万亿元: a bound on input, far above any county fund


def apportion(total_fen: int, weights: dict[str, Fraction]) -> dict[str, int]:
    """Split *total_fen* in proportion to *weights* by largest remainder (exact, conserving).

    Weights must be non-negative; when all are zero nothing can be apportioned and every
    share is 0 except that the total must then be 0 as well (else :class:`InputError`).
    """
    if (
        not isinstance(total_fen, int)
        or isinstance(total_fen, bool)
        or not 0 <= total_fen <= MAX_FEN
    ):
        raise InputError("total_fen", f"an integer 0–{MAX_FEN}", total_fen)
    if any(w < 0 for w in weights.values()):
        raise InputError("weights", "non-negative", {k: str(v) for k, v in weights.items()})
    s = sum(weights.values(), Fraction(0))
    if s == 0:
        if total_fen:
            raise InputError("weights", "at least one positive weight to share a fund", 0)
        return dict.fromkeys(weights, 0)
    quotas = {k: Fraction(total_fen) * w / s for k, w in weights.items()}
    base = {k: q.numerator // q.denominator for k, q in quotas.items()}
    left = total_fen - sum(base.values())
    order = sorted(weights, key=lambda k: (-(quotas[k] - base[k]), k))
    for k in order[:left]:
        base[k] += 1
    return base


@dataclass(frozen=True)
class Rule:
    kind: str
    floor: Decimal = Decimal(0)
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "floor": str(self.floor),
            "tiers": [[str(a), str(b)] for a, b in self.tiers],
        }


def parse_rule(d: dict[str, Any]) -> Rule:
    kind = d.get("kind")
    if kind not in RULES:
        raise InputError("rule.kind", f"one of {', '.join(RULES)}", kind)
    try:
        floor = Decimal(str(d.get("floor", 0)))
        tiers = tuple((Decimal(str(a)), Decimal(str(b))) for a, b in (d.get("tiers") or []))
    except Exception:
        raise InputError("rule", "numbers for floor and tiers", str(d)[:200]) from None
    if not floor.is_finite() or any(not (a.is_finite() and b.is_finite()) for a, b in tiers):
        raise InputError("rule", "finite numbers for floor and tiers", str(d)[:200])
    if len(tiers) > 20:
        raise InputError("rule.tiers", "at most 20 tiers", len(tiers))
    if kind == "tiers" and (not tiers or any(b < 0 for _, b in tiers)):
        raise InputError("rule.tiers", "[min, non-negative coefficient] pairs", str(d)[:200])
    return Rule(kind, floor, tuple(sorted(tiers)))


def weights_for(rule: Rule, scores: dict[str, Decimal]) -> dict[str, Fraction]:
    """Each county's weight under *rule* (exact)."""
    out: dict[str, Fraction] = {}
    for c, s in scores.items():
        fs = Fraction(s)
        if rule.kind == "proportional":
            out[c] = max(fs, Fraction(0))
        elif rule.kind == "above_floor":
            out[c] = max(fs - Fraction(rule.floor), Fraction(0))
        else:
            coef = Fraction(0)
            for lo, k in rule.tiers:
                if fs >= Fraction(lo):
                    coef = Fraction(k)
            out[c] = coef
    return out


def allocate(total_fen: int, rule: Rule, scores: dict[str, Decimal]) -> dict[str, int]:
    """Fund shares in fen from county scores under *rule*; they sum to *total_fen*."""
    return apportion(total_fen, weights_for(rule, scores))

"""The engine: one agreement, one period's assessed inputs → a versioned, hashed statement.

Arithmetic is exact ``Decimal`` (context precision 50, so a quotient such as 1/3 is carried
to 50 digits, identically on every machine) and money is rounded once, by the agreement's
:class:`~bishui.compensation.agreement.Rounding` (default: to the fen, 四舍五入 =
``ROUND_HALF_UP``, ties away from zero for payments and receipts alike).

Order of operations (docs/compensation.md):

1. data check — each indicator's count against the missing-data rule;
2. each term's shape → exact amount; the term's cap (|amount| ≤ cap) and floor (a non-zero
   |amount| ≥ floor); with ``rounding.stage = "term"`` the term is rounded here;
3. sum; the payment direction (a one-way agreement clamps the other sign to 0);
   the agreement's cap and floor;
4. round; split into transfers between the parties by their shares (largest remainder in
   minor units, so transfers add up exactly to the amount).

A :class:`Statement` carries the inputs used, every intermediate figure, the rule version and
hash, and its own content hash. A correction (:func:`compute` with ``previous=``) is a new
version that names the hash it supersedes and the difference — never an overwrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from bishui.compensation.agreement import ROUNDING_MODES, Agreement
from bishui.compensation.canonical import content_hash
from bishui.compensation.inputs import PeriodInputs, PointInput
from bishui.compensation.period import Period
from bishui.compensation.shapes import SHAPES, MissingInput, fmt
from bishui.errors import ConflictError, InputError

__all__ = [
    "ENGINE",
    "Statement",
    "Transfer",
    "compute",
    "compute_period",
    "inputs_of",
    "split",
    "statement_rows",
    "verify",
    "verify_hash",
]

#: recorded in every statement: the engine's rule-language and arithmetic version
ENGINE = "bishui.compensation.engine/1"
_PREC = 50


@dataclass(frozen=True)
class Transfer:
    """An obligation: ``payer`` owes ``payee`` ``amount`` 元 (> 0)."""

    payer: str
    payee: str
    amount: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"payer": self.payer, "payee": self.payee, "amount": str(self.amount)}


@dataclass(frozen=True)
class Statement:
    """One agreement's settlement for one period, in one version.

    ``amount`` [元] is signed: positive when the assessed party receives. ``status`` is
    ``computed``, ``partial_data`` (computed from insufficient data under ``use_available``),
    ``no_payment`` or ``held`` (insufficient data under those rules).
    """

    agreement_id: str
    agreement_version: int
    rule_hash: str
    period: Period
    version: int
    status: str
    amount: Decimal
    transfers: tuple[Transfer, ...]
    evidence: Mapping[str, Any]
    notes: tuple[str, ...]
    supersedes: str | None = None
    previous_amount: Decimal | None = None
    content_hash: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        """``<agreement id>/<period>/v<version>``, stable and readable."""
        return f"{self.agreement_id}/{self.period}/v{self.version}"

    @property
    def difference(self) -> Decimal | None:
        """This version's amount minus the superseded version's [元]."""
        if self.previous_amount is None:
            return None
        return self.amount - self.previous_amount

    def body(self) -> dict[str, Any]:
        """Everything the content hash covers (all but the hash itself)."""
        return {
            "engine": ENGINE,
            "id": self.id,
            "agreement_id": self.agreement_id,
            "agreement_version": self.agreement_version,
            "rule_hash": self.rule_hash,
            "period": str(self.period),
            "version": self.version,
            "status": self.status,
            "amount": str(self.amount),
            "transfers": [t.to_dict() for t in self.transfers],
            "evidence": self.evidence,
            "notes": list(self.notes),
            "supersedes": self.supersedes,
            "previous_amount": None if self.previous_amount is None else str(self.previous_amount),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for storage; :func:`verify_hash` checks it."""
        d = self.body()
        d["content_hash"] = self.content_hash
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Statement:
        """Rebuild a stored statement (the hash is kept as stored; check with ``verify_hash``)."""
        try:
            return cls(
                agreement_id=d["agreement_id"],
                agreement_version=d["agreement_version"],
                rule_hash=d["rule_hash"],
                period=Period.parse(d["period"]),
                version=d["version"],
                status=d["status"],
                amount=Decimal(d["amount"]),
                transfers=tuple(
                    Transfer(t["payer"], t["payee"], Decimal(t["amount"])) for t in d["transfers"]
                ),
                evidence=d["evidence"],
                notes=tuple(d["notes"]),
                supersedes=d["supersedes"],
                previous_amount=(
                    None if d["previous_amount"] is None else Decimal(d["previous_amount"])
                ),
                content_hash=d["content_hash"],
            )
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise InputError("statement", "a stored statement object", repr(exc)) from None


# --------------------------------------------------------------------------- helpers


def split(
    amount: Decimal,
    payers: Mapping[str, Decimal],
    payees: Mapping[str, Decimal],
    quantum: Decimal,
) -> tuple[tuple[Transfer, ...], Decimal]:
    """Split *amount* (> 0, a multiple of *quantum*) over payer × payee share pairs.

    Largest-remainder method in units of *quantum*: each pair gets the floor of its exact
    share and the leftover units go, one each, to the largest fractional parts (ties by
    pair order), so the pairs sum exactly to *amount*. A pair whose payer is its payee is
    the party's own share and is not a transfer; it is returned as the second value.
    """
    with localcontext() as ctx:
        ctx.prec = _PREC  # exact for any realistic amount and decimal shares
        units = int(amount / quantum)
        pairs = sorted((a, b) for a in payers for b in payees)
        exact = {p: units * payers[p[0]] * payees[p[1]] for p in pairs}
    given = {p: int(exact[p]) for p in pairs}
    left = units - sum(given.values())
    order = sorted(pairs, key=lambda p: (-(exact[p] - given[p]), p))
    for p in order[:left]:
        given[p] += 1
    own = sum((given[p] for p in pairs if p[0] == p[1]), 0) * quantum
    transfers = tuple(
        Transfer(a, b, given[(a, b)] * quantum) for a, b in pairs if a != b and given[(a, b)]
    )
    return transfers, own


def _limit(x: Decimal, cap: Decimal | None, floor: Decimal | None) -> Decimal:
    sign = Decimal(1) if x > 0 else Decimal(-1)
    if cap is not None and abs(x) > cap:
        x = sign * cap
    if floor is not None and x != 0 and abs(x) < floor:
        x = sign * floor
    return x


def _insufficient(agreement: Agreement, point: PointInput | None) -> list[str]:
    """The data-check failures, each as a short zh-CN reason."""
    if point is None:
        return [f"无评价点 {agreement.point.key} 的数据"]
    rule = agreement.missing
    out = []
    for code in agreement.indicators:
        ind = point.indicators.get(code)
        if ind is None or ind.value is None:
            out.append(f"{code} 无有效值")
        elif ind.count < rule.min_count:
            out.append(f"{code} 有效数据 {ind.count} 个，少于 {rule.min_count} 个")
        elif ind.expected and ind.count < rule.min_coverage * ind.expected:
            out.append(f"{code} 有效数据 {ind.count}/{ind.expected}，低于 {fmt(rule.min_coverage)}")
    return out


def _rule_evidence(a: Agreement) -> dict[str, Any]:
    return {
        "id": a.id,
        "version": a.version,
        "hash": a.rule_hash,
        "title": a.title,
        "status": a.status,
        "basis": a.basis,
        "modelled_on": list(a.modelled_on),
        "assessed": {k: str(v) for k, v in a.assessed.items()},
        "counterparty": {k: str(v) for k, v in a.counterparty.items()},
        "point": {"kind": a.point.kind, "ids": list(a.point.ids), "key": a.point.key},
        "indicators": list(a.indicators),
        "direction": a.direction,
        "cap": None if a.cap is None else str(a.cap),
        "floor": None if a.floor is None else str(a.floor),
        "rounding": {
            "places": a.rounding.places,
            "mode": a.rounding.mode,
            "stage": a.rounding.stage,
        },
        "missing_data": {
            "rule": a.missing.rule,
            "min_count": a.missing.min_count,
            "min_coverage": str(a.missing.min_coverage),
        },
    }


# --------------------------------------------------------------------------- compute


def compute(
    agreement: Agreement, inputs: PeriodInputs, *, previous: Statement | None = None
) -> Statement:
    """Compute *agreement* over *inputs*' period; with *previous*, a corrected new version.

    Parameters
    ----------
    agreement : Agreement
    inputs : PeriodInputs
        Must hold the agreement's point (``agreement.point.key``) for a period of the
        agreement's period kind; a missing point follows the missing-data rule.
    previous : Statement, optional
        The version this one corrects (same agreement id and period).

    Returns
    -------
    Statement
        Version 1, or ``previous.version + 1`` with ``supersedes`` and ``previous_amount``.

    Raises
    ------
    InputError
        The period is of the wrong kind or outside the agreement's validity.
    ConflictError
        *previous* belongs to another agreement or period.
    """
    if previous is not None and (
        previous.agreement_id != agreement.id or previous.period != inputs.period
    ):
        raise ConflictError(
            f"statement {previous.id} cannot be corrected by {agreement.id}/{inputs.period}"
        )
    return _compute(
        agreement,
        inputs,
        version=1 if previous is None else previous.version + 1,
        supersedes=None if previous is None else previous.content_hash,
        previous_amount=None if previous is None else previous.amount,
    )


def _compute(
    agreement: Agreement,
    inputs: PeriodInputs,
    *,
    version: int,
    supersedes: str | None,
    previous_amount: Decimal | None,
) -> Statement:
    a = agreement
    period = inputs.period
    if period.kind != a.period_kind:
        raise InputError("period", f"a {a.period_kind} for agreement {a.id}", str(period))
    if (a.valid_from and period.start < a.valid_from) or (a.valid_to and period.end > a.valid_to):
        raise InputError("period", f"within the validity of agreement {a.id}", str(period))
    quantum = a.rounding.quantum
    mode = ROUNDING_MODES[a.rounding.mode]
    point = inputs.points.get(a.point.key)
    notes: list[str] = []
    status = "computed"
    term_records: list[dict[str, Any]] = []
    total = Decimal(0)
    missing = _insufficient(a, point)
    with localcontext() as ctx:
        ctx.prec = _PREC
        if point is not None and (not missing or a.missing.rule == "use_available"):
            if missing:
                status = "partial_data"
            for term in a.terms:
                shape = SHAPES[term.shape]
                try:
                    res = shape.fn(term.params, point, a.indicators)
                except MissingInput as exc:
                    missing.append(f"缺少输入 {exc.what}")
                    term_records = []
                    total = Decimal(0)
                    break
                limited = _limit(res.amount, term.cap, term.floor)
                if a.rounding.stage == "term":
                    limited = limited.quantize(quantum, rounding=mode)
                total += limited
                term_records.append(
                    {
                        "shape": term.shape,
                        "label": term.label,
                        "amount_exact": str(res.amount),
                        "cap": None if term.cap is None else str(term.cap),
                        "floor": None if term.floor is None else str(term.floor),
                        "amount": str(limited),
                        "steps": [s.to_dict() for s in res.steps],
                    }
                )
        computed = bool(term_records)
        if not computed:
            rule = a.missing.rule if a.missing.rule != "use_available" else "no_payment"
            status = "held" if rule == "hold" else "no_payment"
            notes.append("数据不足：" + "；".join(missing))
            notes.append(
                "按协议缺失数据规则，本期暂缓结算，待数据补正后出具新版本。"
                if status == "held"
                else "按协议缺失数据规则，本期不予补偿（金额为 0）。"
            )
        elif status == "partial_data":
            notes.append("数据不足：" + "；".join(missing))
            notes.append("按协议缺失数据规则，以现有数据计算（use_available），请核实。")
        directed = total
        if a.direction == "assessed_pays_only" and directed > 0:
            directed = Decimal(0)
            notes.append("协议为单向（仅被考核方付费），正数结果记为 0。")
        elif a.direction == "assessed_receives_only" and directed < 0:
            directed = Decimal(0)
            notes.append("协议为单向（仅被考核方受偿），负数结果记为 0。")
        limited_total = _limit(directed, a.cap, a.floor)
        amount = limited_total.quantize(quantum, rounding=mode)
        if amount == 0:
            amount = abs(amount)  # no "-0.00" in a statement
    if amount > 0:
        transfers, own = split(amount, a.counterparty, a.assessed, quantum)
    elif amount < 0:
        transfers, own = split(-amount, a.assessed, a.counterparty, quantum)
    else:
        transfers, own = (), Decimal(0)
    if own:
        notes.append(f"其中 {own:,} 元为同一方自身承担的份额，不形成政府间转移。")
    evidence = {
        "rule": _rule_evidence(a),
        "inputs": {
            "period": str(period),
            "points": {} if point is None else {a.point.key: point.to_dict()},
        },
        "data_check": missing,
        "terms": term_records,
        "total_exact": str(total),
        "after_direction": str(directed),
        "after_limits": str(limited_total),
        "rounded": str(amount),
        "own_share": str(own),
    }
    st = Statement(
        agreement_id=a.id,
        agreement_version=a.version,
        rule_hash=a.rule_hash,
        period=period,
        version=version,
        status=status,
        amount=amount,
        transfers=transfers,
        evidence=evidence,
        notes=tuple(notes),
        supersedes=supersedes,
        previous_amount=previous_amount,
    )
    return _with_hash(st)


def compute_period(
    agreements: Iterable[Agreement],
    inputs: Mapping[Period, PeriodInputs],
    period: Period,
) -> tuple[Statement, ...]:
    """First versions of every agreement for every one of its periods inside *period*.

    A year runs the monthly agreements twelve times, the quarterly four times and the yearly
    once; a period missing from *inputs* is computed with no data, so the agreement's
    missing-data rule decides (``held`` or ``no_payment``) and the statement says so.
    """
    out = []
    for a in agreements:
        for p in Period.in_year(a.period_kind, period.year):
            if p.within(period):
                out.append(compute(a, inputs.get(p, PeriodInputs(p))))
    return tuple(out)


def statement_rows(statements: Iterable[Statement]) -> list[dict[str, str]]:
    """One flat row per transfer (or per statement without one), for Excel/CSV exports."""
    rows = []
    for s in statements:
        base = {
            "statement": s.id,
            "agreement": s.agreement_id,
            "title": s.evidence.get("rule", {}).get("title", ""),
            "period": str(s.period),
            "version": str(s.version),
            "status": s.status,
            "amount": str(s.amount),
            "content_hash": s.content_hash,
        }
        for t in s.transfers or (None,):
            rows.append(
                {
                    **base,
                    "payer": t.payer if t else "",
                    "payee": t.payee if t else "",
                    "transfer": str(t.amount) if t else "0.00",
                }
            )
    return rows


def _with_hash(st: Statement) -> Statement:
    return Statement(**{**st.__dict__, "content_hash": content_hash(st.body())})


def inputs_of(statement: Statement) -> PeriodInputs:
    """The inputs a statement was computed from, as stored in its evidence."""
    return PeriodInputs.from_dict(statement.evidence["inputs"])


def verify_hash(stored: Mapping[str, Any]) -> bool:
    """True if a stored statement dict's ``content_hash`` matches its content."""
    body = {k: v for k, v in stored.items() if k != "content_hash"}
    return content_hash(body) == stored.get("content_hash")


def verify(statement: Statement, agreement: Agreement) -> bool:
    """Recompute *statement* from its stored inputs and *agreement*; True if all matches.

    Checks that the statement's content still has its hash, and that recomputing it from the
    inputs in its evidence under *agreement* gives the same hash.

    *agreement* must be the version the statement names (its ``rule_hash`` is compared
    first).
    """
    if agreement.rule_hash != statement.rule_hash:
        return False
    if content_hash(statement.body()) != statement.content_hash:
        return False  # the stored content was altered after hashing
    again = _compute(
        agreement,
        inputs_of(statement),
        version=statement.version,
        supersedes=statement.supersedes,
        previous_amount=statement.previous_amount,
    )
    return again.content_hash == statement.content_hash

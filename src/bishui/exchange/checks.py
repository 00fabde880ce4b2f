"""The registry's refusal codes, in one table, and the permit-consistency check.

Every check the registry runs before a transaction commits answers with :class:`Refusal`\\ s —
a code from :data:`CODES` and the detail that names what failed (the field, the rule broken and
the value). The checks are modelled on the EU transaction log's response codes (Reg. (EC)
2216/2004 Annex XII), the Kyoto ITL checks (decision 5/CMP.1 para 42) and the US EPA allowance
tracking rules (40 CFR 73.35, 73.50, 97.61), as the exchange-and-permits notes §A4 list them
with the registry invariants they draw from them; the column ``mirrors`` names which one each
code follows. The market's own restrictions (``bishui.exchange.market``) plug in as extra check
callables of the service and answer with the same :class:`Refusal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bishui.errors import ConflictError, PermissionDenied
from bishui.exchange.instruments import Instrument, to_units
from bishui.sources.permits import Permit


@dataclass(frozen=True, slots=True)
class CheckCode:
    """One refusal code: what it mirrors and its message in Chinese and English."""

    code: str
    #: the EU transaction-log code, Kyoto ITL check or EPA rule it follows (notes §A4)
    mirrors: str
    message_zh: str
    message_en: str


#: Every refusal code (exchange-and-permits notes §A4; "invariant n" is the notes' list of
#: registry integrity invariants).
CODES: dict[str, CheckCode] = {
    c.code: c
    for c in (
        CheckCode("account_unknown", "EU 7020 / 7021", "账户不存在", "the account does not exist"),
        CheckCode(
            "account_closed",
            "EU 7005 / 7006; invariant 5",
            "账户已关闭，不能办理此业务",
            "the account is closed and allows no operation",
        ),
        CheckCode(
            "account_blocked",
            "EU 7025; invariant 5",
            "账户已冻结，仅可办理履约清缴",
            "the account is blocked: only surrender is allowed",
        ),
        CheckCode(
            "account_kind",
            "EU 7005 / 7006",
            "该类账户不能办理此业务",
            "this kind of account does not allow the operation",
        ),
        CheckCode(
            "same_account",
            "EU 7022 (a transfer names two accounts)",
            "转出账户与转入账户相同",
            "the transferring and acquiring accounts are the same",
        ),
        CheckCode(
            "not_representative",
            "EPA 40 CFR 73.50; EU authorised representatives",
            "操作人不是该账户的授权代表",
            "the actor is not an authorised representative of the account",
        ),
        CheckCode(
            "not_operator",
            "ITL: authorisation of the legal entities",
            "操作人不是登记簿管理人员",
            "the actor is not a registry operator",
        ),
        CheckCode(
            "units_not_held",
            "EU 7027; EPA 40 CFR 97.61; invariant 2",
            "转出账户未持有所列全部序列号",
            "one or more units in the serial block are not held by the transferring account",
        ),
        CheckCode(
            "insufficient_units",
            "EU 7027; invariant 2",
            "转出账户可用数量不足",
            "the transferring account does not hold enough units",
        ),
        CheckCode(
            "unit_not_active",
            "ITL: units previously retired or cancelled; invariant 3",
            "单位已清缴、注销、取消或过期，不得再变动",
            "the unit was surrendered, retired, cancelled or expired and cannot move",
        ),
        CheckCode(
            "unit_expired",
            "ITL: improper carry-over; invariant 3",
            "单位已过有效期",
            "the unit's validity has passed",
        ),
        CheckCode(
            "serial_issued_twice",
            "ITL: improper issuance; invariant 4",
            "序列号已签发，不得重复签发",
            "the serial number was issued before",
        ),
        CheckCode(
            "unit_in_two_accounts",
            "ITL: units existing in more than one registry; invariant 1",
            "同一单位出现在两处",
            "a unit would be in two places at once",
        ),
        CheckCode(
            "vintage_after_year",
            "EPA 40 CFR 73.35(a); invariant 6",
            "单位年份晚于履约年度，不能用于清缴",
            "the unit's vintage is later than the compliance year",
        ),
        CheckCode(
            "account_not_empty",
            "invariant 5: a closed account holds zero",
            "账户仍持有单位，不能关闭",
            "the account still holds units and cannot close",
        ),
        CheckCode(
            "duplicate_id",
            "EU 7101–7111: unique identifiers",
            "编号已存在",
            "the identifier exists already",
        ),
        CheckCode(
            "entity_unknown",
            "EU 7101: an account has one holder",
            "主体未登记",
            "the entity is not registered",
        ),
        CheckCode(
            "permit_mismatch",
            "issue 17: permitted quantity equals holdings",
            "持有排污权与排污许可证许可排放量不一致",
            "emission-right holdings differ from the permit's permitted annual quantity",
        ),
    )
}


#: The registry's own codes (the money ledger and the market add theirs with
#: :func:`register_code`; each worked example in the tests covers these).
REGISTRY_CODES = frozenset(CODES)


def register_code(code: CheckCode) -> None:
    """Add a refusal code of another rule set (the market's restrictions) to :data:`CODES`;
    a code already there with a different meaning is an error."""
    if CODES.get(code.code, code) != code:
        raise ValueError(f"refusal code {code.code!r} is registered with another meaning")
    CODES[code.code] = code


#: The codes that say who may act: a service answers them with :class:`PermissionDenied`.
AUTHORISATION_CODES = frozenset({"not_representative", "not_operator"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """One failed check: a code of :data:`CODES` and what failed (field, rule, value)."""

    code: str
    detail: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise KeyError(f"no refusal code {self.code!r}")

    @property
    def message(self) -> str:
        return f"{CODES[self.code].message_en}: {self.detail}"

    @property
    def message_zh(self) -> str:
        return f"{CODES[self.code].message_zh}：{self.detail}"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_zh": self.message_zh}


class Refused(ConflictError):
    """The registry refused an operation; ``refusals`` says every check that failed."""

    code = "refused"

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(f"[{r.code}] {r.message}" for r in refusals))


class RefusedPermission(PermissionDenied):
    """Refused because the actor may not act for the account (the codes of
    :data:`AUTHORISATION_CODES`)."""

    code = "forbidden"

    def __init__(self, refusals: list[Refusal]) -> None:
        self.refusals = refusals
        super().__init__("; ".join(f"[{r.code}] {r.message}" for r in refusals))


def raise_refusals(refusals: list[Refusal]) -> None:
    """Raise the refusals, if any: :class:`RefusedPermission` when one is about authorisation
    (it is checked first and says all a caller without the right may learn), else
    :class:`Refused`."""
    auth = [r for r in refusals if r.code in AUTHORISATION_CODES]
    if auth:
        raise RefusedPermission(auth)
    if refusals:
        raise Refused(refusals)


def permit_consistency(holdings: Mapping[str, int], permit: Permit) -> list[Refusal]:
    """Compare a holder's emission-right holdings [kg, per pollutant] with the permit's
    permitted annual quantities (``Permit.annual_caps`` [t/a]).

    After a trade the permitted quantity must equal what the holder holds (issue 17): every
    pollutant that is in either mapping must agree exactly, in registry units. A pollutant
    the permit gives no quantity counts as 0. The permitted quantity converts exactly
    (``instruments.to_units``); one that is not a whole number of kg raises ``InputError``.
    """
    caps = {
        pol: to_units(Instrument.EMISSION_RIGHT, q, f"annual_caps[{pol}]")
        for pol, q in permit.annual_caps.items()
    }
    out: list[Refusal] = []
    for pol in sorted(set(caps) | {p for p, n in holdings.items() if n}):
        held, permitted = int(holdings.get(pol, 0)), caps.get(pol, 0)
        if held != permitted:
            out.append(
                Refusal(
                    "permit_mismatch",
                    f"permit {permit.permit_no} v{permit.version}, {pol}: "
                    f"holds {held} kg, permitted {permitted} kg",
                )
            )
    return out

"""Ecological compensation API: agreements, statements (with their computation), the ledger,
and each party's acknowledgement or dispute.

Who sees what: bureau staff (admin, analyst, inspector) see everything; a county official sees
the agreements and statements where its region (or a region under it) is a party, and only its
own ledger balance; only a county official of a party may acknowledge or dispute a statement
for that party. Enterprises and the public have no access: these are settlements between
governments. Amounts are exact decimal text in 元 (``amount``) and integer fen (``*_fen``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from bishui.compensation import service
from bishui.compensation.explain import explain
from bishui.compensation.export import statement_html
from bishui.compensation.period import Period
from bishui.errors import InputError, NotFoundError, PermissionDenied
from bishui.store import Store
from bishui.web import display
from bishui.web.api.common import ERRORS, YEAR, ListPage, WebStore, cache_for, iso
from bishui.web.auth import STAFF, Principal, requires

router = APIRouter(prefix="/compensation", tags=["compensation"], responses=ERRORS)

READERS = (*STAFF, "county")
PERIOD = rf"^{YEAR}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
STATEMENT_ID = r"^[a-z0-9][a-z0-9-]{0,79}/\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?/v\d{1,6}$"
AGREEMENT_ID = r"^[a-z0-9][a-z0-9-]{0,79}$"
REGION = r"^\d{6}(-[A-Z]{1,8})?$"


def _regions(p: Principal) -> list[str] | None:
    """None for staff (everything); the county's regions otherwise."""
    return None if p.sees_everything else list(p.regions)


def _yuan(fen: int | None) -> str | None:
    return None if fen is None else str(Decimal(int(fen)) / 100)


class Agreement(BaseModel):
    id: str
    version: int
    rule_hash: str
    title: str
    status: str = Field(description="verified (an official scheme) or example")
    period_kind: str
    parties: list[str]
    loaded_at: str | None
    document: str = Field(description="the TOML document as loaded")


class AgreementList(BaseModel):
    ok: bool = True
    items: list[Agreement]


@router.get(
    "/agreements",
    response_model=AgreementList,
    summary="Compensation agreements as loaded (every version)",
)
def agreements(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
) -> dict[str, Any]:
    rows = service.stored_agreements(store, parties=_regions(p))
    for r in rows:
        r["loaded_at"] = iso(r["loaded_at"])
        r.pop("loaded_by", None)
    cache_for(response, p, request)
    return {"ok": True, "items": rows}


class PartyLine(BaseModel):
    party: str
    party_name: str | None = Field(None, description="the party's region name (display)")
    role: str
    pays: str
    receives: str


class StatementSummary(BaseModel):
    id: str
    agreement_id: str
    agreement_name: str | None = Field(None, description="the agreement's title (display)")
    status_name: str | None = Field(None, description="the status in the caller's language")
    agreement_version: int
    period: str
    version: int
    status: str
    amount: str = Field(description="元, positive when the assessed party receives")
    amount_fen: int
    difference: str | None
    content_hash: str
    synthetic: bool = Field(description="computed from the model city's synthetic data")
    created_at: str | None
    parties: list[PartyLine]


class StatementPage(BaseModel):
    ok: bool = True
    total: int
    limit: int
    offset: int
    items: list[StatementSummary]


@router.get(
    "/statements",
    response_model=StatementPage,
    summary="Settlement statements (current versions unless history=true)",
    description="Filter by period (a year takes its months and quarters), agreement and party. "
    "A county official sees only statements where its region is a party.",
)
def statements(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    page: ListPage,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
    agreement: Annotated[str | None, Query(pattern=AGREEMENT_ID)] = None,
    party: Annotated[str | None, Query(pattern=REGION)] = None,
    history: bool = False,
) -> dict[str, Any]:
    total, rows = service.list_statements(
        store,
        period=Period.parse(period) if period else None,
        agreement=agreement,
        party=party,
        regions=_regions(p),
        current=not history,
        limit=page.limit,
        offset=page.offset,
    )
    lang = display.request_lang(request)
    titles = {a["id"]: a["title"] for a in service.stored_agreements(store)}
    regions = display.region_names(store)
    ri = 0 if lang == "zh" else 1
    items = []
    for r in rows:
        items.append(
            {
                **{k: r[k] for k in ("id", "agreement_id", "agreement_version", "period")},
                "agreement_name": titles.get(r["agreement_id"]),
                "status_name": display.name("statement_status", r["status"], lang),
                **{k: r[k] for k in ("version", "status", "content_hash")},
                "amount": _yuan(r["amount_fen"]),
                "amount_fen": r["amount_fen"],
                "difference": _yuan(r["difference_fen"]),
                "synthetic": bool(r["synthetic"]),
                "created_at": iso(r["created_at"]),
                "parties": [
                    {
                        "party": x["party"],
                        "party_name": regions.get(x["party"], (x["party"],) * 2)[ri],
                        "role": x["role"],
                        "pays": _yuan(x["pays_fen"]),
                        "receives": _yuan(x["receives_fen"]),
                    }
                    for x in r["parties"]
                ],
            }
        )
    cache_for(response, p, request)
    return page.page(total, items)


def _visible(store: Store, p: Principal, statement_id: str) -> Any:
    st = service.load_statement(store, statement_id)
    regions = _regions(p)
    parties = set(st.evidence["rule"]["assessed"]) | set(st.evidence["rule"]["counterparty"])
    if regions is not None and not parties & set(regions):
        raise NotFoundError(f"statement {statement_id} does not exist")
    return st


# Declared before the detail route: "{statement_id:path}" would also match ".../print".
@router.get(
    "/statements/{statement_id:path}/print",
    response_class=HTMLResponse,
    summary="A statement as a printable page (zh-CN), with its computation and confirmations",
)
def statement_print(
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    statement_id: Annotated[str, Path(pattern=STATEMENT_ID)],
) -> HTMLResponse:
    st = _visible(store, p, statement_id)
    c = service.confirmation(store, statement_id)
    synthetic = "模拟数据" in json.dumps(st.evidence["inputs"], ensure_ascii=False)
    page = statement_html(
        st, service.region_names(store), synthetic=synthetic, states=c.states,
        flag_words=lambda f: display.evidence_flag(f, "zh"), codes=False,
    )  # fmt: skip
    return HTMLResponse(page, headers={"Cache-Control": "private, no-store"})


class StatementDetail(BaseModel):
    ok: bool = True
    id: str
    statement: dict[str, Any] = Field(description="the stored statement JSON, evidence included")
    explain: str = Field(description="the whole computation in words and numbers (zh-CN)")
    flag_names: dict[str, str] = Field(
        default_factory=dict,
        description="each data flag in the evidence (lists under `flags`) → its words in the "
        "caller's language (HJ 212 flags by name)",
    )
    hash_ok: bool = Field(description="the stored content matches its content hash")
    confirmation: dict[str, Any]


@router.get(
    "/statements/{statement_id:path}",
    response_model=StatementDetail,
    summary="One statement version: evidence, the computation in words, confirmations",
)
def statement(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    statement_id: Annotated[str, Path(pattern=STATEMENT_ID)],
) -> dict[str, Any]:
    st = _visible(store, p, statement_id)
    c = service.confirmation(store, statement_id)
    events = service.confirmation_events(store, statement_id)
    for e in events:
        e["acted_at"] = iso(e["acted_at"])
    cache_for(response, p, request)
    return {
        "ok": True,
        "id": st.id,
        "statement": json.loads(json.dumps(st.to_dict(), ensure_ascii=False)),
        "explain": explain(
            st, service.region_names(store), lambda f: display.evidence_flag(f, "zh"), codes=False
        ),
        "flag_names": display.evidence_flags(
            st.to_dict().get("evidence"), display.request_lang(request)
        ),
        "hash_ok": True,  # load_statement refuses a statement whose hash does not match
        "confirmation": {"state": c.state, "parties": dict(c.states), "events": events},
    }


class Confirmed(BaseModel):
    ok: bool = True
    id: str
    party: str
    party_state: str
    state: str = Field(description="pending, confirmed, disputed or superseded (all parties)")


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: str | None = Field(
        None, pattern=REGION, description="the party acted for (default: your region)"
    )
    reason: str | None = Field(None, max_length=2000, description="required for a dispute")


def _act(
    store: Store, p: Principal, statement_id: str, action: str, body: ConfirmBody
) -> dict[str, Any]:
    st = _visible(store, p, statement_id)
    parties = set(st.evidence["rule"]["assessed"]) | set(st.evidence["rule"]["counterparty"])
    mine = sorted(parties & set(p.regions))
    party = body.party or (
        p.region if p.region in parties else (mine[0] if len(mine) == 1 else None)
    )
    if party is None:
        raise InputError("party", "name the party you act for", sorted(mine))
    if party not in mine:
        raise PermissionDenied(f"you may not act for {party} on {statement_id}")
    c = service.confirm(
        store,
        statement_id,
        party,
        action,
        by=p.username or "?",
        reason=body.reason or "",
    )
    return {
        "ok": True,
        "id": statement_id,
        "party": party,
        "party_state": c.states[party],
        "state": c.state,
    }


@router.post(
    "/statements/{statement_id:path}/acknowledge",
    response_model=Confirmed,
    summary="Acknowledge a statement for your region (county officials of a party)",
)
def acknowledge(
    store: WebStore,
    p: Annotated[Principal, requires("county", scope="scoped")],
    statement_id: Annotated[str, Path(pattern=STATEMENT_ID)],
    body: Annotated[ConfirmBody | None, Body()] = None,
) -> dict[str, Any]:
    return _act(store, p, statement_id, "acknowledge", body or ConfirmBody(party=None, reason=None))


@router.post(
    "/statements/{statement_id:path}/dispute",
    response_model=Confirmed,
    summary="Dispute a statement for your region, with a reason (county officials of a party)",
)
def dispute(
    store: WebStore,
    p: Annotated[Principal, requires("county", scope="scoped")],
    statement_id: Annotated[str, Path(pattern=STATEMENT_ID)],
    body: Annotated[ConfirmBody, Body()],
) -> dict[str, Any]:
    if not body.reason or not body.reason.strip():
        raise InputError("reason", "a dispute states its reason", body.reason)
    return _act(store, p, statement_id, "dispute", body)


class Balance(BaseModel):
    party: str
    name: str | None
    balance: str = Field(description="元; positive: owed to the party, negative: it owes")


class Ledger(BaseModel):
    ok: bool = True
    period: str | None
    items: list[Balance]
    total: str | None = Field(
        description="sum of all balances (0.00 — the ledger conserves); staff only"
    )


@router.get(
    "/ledger",
    response_model=Ledger,
    summary="Ledger balances of the parties (a county: its own)",
)
def ledger(
    request: Request,
    store: WebStore,
    p: Annotated[Principal, requires(*READERS, scope="scoped")],
    response: Response,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
) -> dict[str, Any]:
    per = Period.parse(period) if period else None
    bal = service.balances(store, period=per)
    names = service.region_names(store)
    regions = _regions(p)
    total = str(sum(bal.values(), start=Decimal(0))) if regions is None else None
    items = [
        {"party": k, "name": names.get(k), "balance": str(v)}
        for k, v in bal.items()
        if regions is None or k in regions
    ]
    cache_for(response, p, request)
    return {"ok": True, "period": period, "items": items, "total": total}

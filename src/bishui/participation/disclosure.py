"""The public disclosure (信息公开): closed enforcement cases with their penalties, and the
discharge permits — what a citizen can expect to find, with personal data withheld.

Sources (governance notes §4): administrative penalty and permit decisions are published
within 7 working days (国办发〔2018〕118号 [S]); information the government publishes on its own
initiative within 20 working days, replies to requests in 20 (+20) working days
(《政府信息公开条例》 Arts. 26, 33 [V]). An enterprise's own legal disclosure covers its
permits and its penalties among eight categories (《企业环境信息依法披露管理办法》,
生态环境部令第24号, Arts. 11–15 [V]). The notes do not say which enforcement outcomes a
city publishes beyond penalties: bishui publishes the disposals the rules list
(``[disclosure] disposals``; the model city: penalties and rectification orders) and never a
false alarm.

What is withheld: the inspectors and every other person (assignees, visit notes, evidence,
the enterprise's legal representative and contacts), the tasks that came from citizen reports
(no enterprise; the reporter follows his own by code) and the reporter's identity, which no
enforcement record carries.
"""

from __future__ import annotations

from typing import Any

from bishui.enforcement import service as enf
from bishui.enforcement.tasks import ENTERPRISE_KINDS
from bishui.participation.reports import Rules
from bishui.sources import permit_store
from bishui.store import Store

#: At most this many closed tasks are read for one listing (the newest).
MAX_SCAN = 5000


def closed_cases(
    store: Store, rules: Rules, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Closed enforcement cases about an enterprise whose disposal is published, newest
    first: case number, enterprise (name, credit code), region, closing date, the disposal,
    and for a penalty its article and amount [yuan, exact decimal text]."""
    kinds = ", ".join("?" for _ in ENTERPRISE_KINDS)
    _, tasks = enf.list_tasks(
        store, f"uscc IS NOT NULL AND subject_kind IN ({kinds})", list(ENTERPRISE_KINDS),
        state="closed", limit=MAX_SCAN,
    )  # fmt: skip
    wanted = rules.disclosed_disposals
    published = [t for t in tasks if str((t.get("disposal") or {}).get("kind")) in wanted]
    names = {r["uscc"]: r["name"] for r in store.query("SELECT uscc, name FROM enterprises")}
    regions = {r["code"]: r for r in store.query("SELECT code, name, name_en FROM regions")}
    out = []
    for t in published:
        d = t.get("disposal") or {}
        region = regions.get(t.get("region") or "", {})
        out.append({
            "case": t["id"],
            "enterprise": names.get(t["uscc"], t["uscc"]),
            "uscc": t["uscc"],
            "region": t.get("region"),
            "region_name": region.get("name") or "",
            "region_name_en": region.get("name_en") or "",
            "subject_kind": t.get("subject_kind"),
            "opened": str(t["created"])[:10],
            "closed": str(t.get("closed_at") or "")[:10],
            "disposal": d.get("kind"),
            "article": d.get("article") if d.get("kind") == "penalty" else None,
            "amount_yuan": str(d["amount"]) if d.get("kind") == "penalty" and "amount" in d
            else None,
            "rectification_due": str(d.get("due") or "")[:10] or None,
        })  # fmt: skip
    out.sort(key=lambda c: (c["closed"], c["case"]), reverse=True)
    return len(out), out[offset : offset + limit]


#: The permit fields published (the whole permit is public information; the store's
#: bookkeeping — who recorded a revision — is not).
PERMIT_FIELDS = ("permit_no", "version", "uscc", "enterprise", "management_class", "valid_from",
                 "valid_to", "issued_by", "revoked_on", "in_force", "region", "outlets",
                 "annual_caps_t")  # fmt: skip


def permits(
    store: Store, *, q: str = "", limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Discharge permits (the version in force, else the latest), optionally those whose
    enterprise name, credit code or number contains *q*."""
    where, params = "TRUE", []
    if q:
        where = "(p.enterprise LIKE ? OR p.uscc LIKE ? OR p.permit_no LIKE ?)"
        params = [f"%{q}%"] * 3
    total, rows = permit_store.list_permits(store, where, params, limit=limit, offset=offset)
    return total, [{k: r.get(k) for k in PERMIT_FIELDS} for r in rows]

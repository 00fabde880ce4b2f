"""Display rules in one place: the names of codes, the decimals and units of figures.

Every page and every JSON consumer shows a code by its name and a figure rounded as published:

* **Names.** The tables of ``data/display-labels.toml`` (states, kinds, severities … that only
  the web names) plus the names the domain cores carry — pollutants from the sources' pollutant
  table (HJ 212-2017 Appendix B, :func:`bishui.sources.pollutants.table`), rules from the
  sources rule set (:func:`bishui.sources.rules.load_ruleset`, the Chinese half of a rule's
  title), compensation statuses from :mod:`bishui.compensation.explain`, counties from the
  registry (the store's ``regions``). :func:`labels` hands all of them to a page as JSON
  (``static/js/display.js`` reads it); :func:`decorate` adds ``*_name`` fields to API rows,
  which keep their codes.
* **Decimals.** GB/T 8170-2008 half-even (:func:`bishui.rounding.round_gbt8170`). Air
  concentrations: µg/m³ to integers, CO (mg/m³) to one decimal (HJ 633-2026 §4.2.2–§4.2.3 with
  HJ 663); AQI an integer (HJ 633 §4.2.6, already whole); annual statistics to
  :data:`bishui.air.compliance.COMPLIANCE_DIGITS`; water to the assessment decimals of
  环办监测函〔2020〕82号 (:func:`bishui.water.rounding.decimals_for`). A code with no published
  rule keeps :data:`DEFAULT_DIGITS` significant decimals for display only (docs/web.md).
* **Units.** Air µg/m³ (CO mg/m³), water mg/L (pH dimensionless), from the same tables.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fastapi import Request

from bishui.air.compliance import COMPLIANCE_DIGITS
from bishui.air.tables import level_table
from bishui.compensation.explain import _STATUS as COMP_STATUS
from bishui.hj212 import tables as hj212_tables
from bishui.rounding import round_gbt8170
from bishui.sources import pollutants as src_pollutants
from bishui.sources.rules import load_ruleset
from bishui.store import Store
from bishui.water.rounding import decimals_for
from bishui.web.i18n import LANGS, PARAMETERS, language

DATA = Path(__file__).parent / "data" / "display-labels.toml"
#: Decimals shown for a figure with no published rule (a display choice, docs/web.md).
DEFAULT_DIGITS = 2

#: HJ 212 codes of the air pollutants → the key of the air engine's tables.
AIR_CODES = {
    "a34004": "PM2.5", "a34002": "PM10", "a21026": "SO2", "a21004": "NO2",
    "a21005": "CO", "a05024": "O3",
}  # fmt: skip
UNITS = {"air": ("μg/m³", "μg/m³"), "CO": ("mg/m³", "mg/m³"), "water": ("mg/L", "mg/L")}


@functools.cache
def _tables() -> dict[str, dict[str, tuple[str, str]]]:
    doc = tomllib.loads(DATA.read_text(encoding="utf-8"))
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for table, rows in doc.items():
        out[table] = {str(k): (str(v[0]), str(v[1])) for k, v in rows.items()}
    return out


_ZH_HEAD = re.compile(r"^([^A-Za-z]*[^A-Za-z\s])\s+(.*)$")


def split_title(title: str) -> tuple[str, str]:
    """A rule title ``"超标 concentration above the permitted limit"`` → (zh, en)."""
    m = _ZH_HEAD.match(title.strip())
    if not m:
        return title, title
    return m.group(1).strip(), m.group(2).strip()


@functools.cache
def _rules() -> dict[str, tuple[str, str]]:
    return {rid: split_title(r.title) for rid, r in load_ruleset().rules.items()}


@functools.cache
def _pollutants() -> dict[str, tuple[str, str]]:
    out = {code: (p.name_zh, code) for code, p in src_pollutants.table().items()}
    out.update(PARAMETERS)  # the short names people use (PM2.5, not 细微颗粒物PM2.5)
    return out


def _comp_status() -> dict[str, tuple[str, str]]:
    en = {"computed": "computed", "partial_data": "partial data", "no_payment": "no payment",
          "held": "held"}  # fmt: skip
    return {k: (v, en.get(k, k)) for k, v in COMP_STATUS.items()}


def region_names(store: Store | None) -> dict[str, tuple[str, str]]:
    """Code → (name, English name) of the registry's regions (counties and the city)."""
    if store is None:
        return {}
    rows = store.query("SELECT code, name, name_en FROM regions")
    return {r["code"]: (r["name"], r["name_en"] or r["name"]) for r in rows}


def home_place(store: Store | None, region: str | None, lang: str) -> str:
    """The place a caller's exports name by default: a county user's county, else the city
    (the registry's ``regions``); empty without a store."""
    if store is None:
        return ""
    i = LANGS.index(lang)
    if region:
        pair = region_names(store).get(region)
        if pair:
            return pair[i]
    rows = store.query(
        "SELECT name, name_en FROM regions WHERE kind = 'city' ORDER BY code LIMIT 1"
    )
    if not rows:
        return ""
    return str((rows[0]["name_en"] if i else None) or rows[0]["name"])


def tables(store: Store | None = None) -> dict[str, dict[str, tuple[str, str]]]:
    """Every name table: the data file's, plus ``pollutant``, ``rule``, ``statement_status``
    and ``region`` from the cores and the registry."""
    out = dict(_tables())
    out["pollutant"] = _pollutants()
    # the sources' rules and the drinking-water alerts' (water.<kind>, bishui.enforcement.water)
    out["rule"] = {**_rules(), **{f"water.{k}": v for k, v in out["water_alert"].items()}}
    # HJ 212-2017 Table 8 (HJ 212-2025 the same): the Chinese names and their English
    out["flag"] = dict(hj212_tables.data_flag_names())
    # the AQI categories (优, 良 …) by their Chinese name, with HJ 633's English (both editions)
    out["air_category"] = {
        lv.category: (lv.category, lv.category_en)
        for edition in ("2012", "2026")
        for lv in level_table(edition)
    }
    out["statement_status"] = {**_comp_status(), **out["confirmation"]}
    out["region"] = region_names(store)
    return out


def labels(lang: str, store: Store | None = None) -> dict[str, dict[str, str]]:
    """The tables in *lang*, as the pages get them (``<script id="display-labels">``)."""
    i = LANGS.index(lang)
    return {t: {k: v[i] for k, v in rows.items()} for t, rows in tables(store).items()}


def name(table: str, code: Any, lang: str = "zh", store: Store | None = None) -> str | None:
    """The name of *code* in *table*; ``None`` for ``None``, the code itself when unknown."""
    if code is None:
        return None
    pair = tables(store if table == "region" else None).get(table, {}).get(str(code))
    return pair[LANGS.index(lang)] if pair else str(code)


def assignee_name(assignee: str | None, lang: str, regions: Mapping[str, tuple[str, str]]) -> str:
    """``team:420882`` → 京山市执法队; a person stays their account name."""
    if not assignee:
        return "—"
    kind, _, who = assignee.partition(":")
    if kind == "team" and who:
        i = LANGS.index(lang)
        region = regions.get(who, (who, who))[i]
        return f"{region}{_tables()['assignee_kind']['team'][i]}" if i == 0 else f"{region} team"
    if kind == "dept" and who:  # a department a river-chief problem is routed to (issue 20)
        return who
    return assignee


# ---------------------------------------------------------------------------- figures
def digits_for(code: str) -> int:
    """Decimals of a figure of *code*: an HJ 212 code, an air key (``PM2.5_24h``, ``CO``) or
    ``AQI``; :data:`DEFAULT_DIGITS` when no published rule names it."""
    if code.upper() == "AQI" or code == "aqi":
        return 0
    key = AIR_CODES.get(code, code).split("_", 1)[0]
    if key in COMPLIANCE_DIGITS:
        return COMPLIANCE_DIGITS[key]
    d = int(decimals_for([code])[0])
    return d if d >= 0 else DEFAULT_DIGITS


def source_digits(code: str) -> int:
    """Decimals of a pollution-source reading of *code*: the data type of HJ 212-2017
    Appendix B (``N3.3`` → 3), the precision the logger reports; :data:`DEFAULT_DIGITS` when
    the code has none."""
    p = hj212_tables.pollutants().get(code)
    m = re.match(r"^N\d+\.(\d+)$", p.data_type) if p else None
    return (
        int(m.group(1)) if m else (0 if p and re.match(r"^N\d+$", p.data_type) else DEFAULT_DIGITS)
    )


def unit_for(code: str, lang: str = "zh") -> str:
    key = AIR_CODES.get(code, code).split("_", 1)[0]
    if key == "CO":
        return UNITS["CO"][0]
    if key in COMPLIANCE_DIGITS:
        return UNITS["air"][0]
    if code == "w01001":
        return ""
    if code.startswith("w"):
        return UNITS["water"][0]
    return ""


def rounded(value: Any, code: str) -> float | None:
    """*value* of *code* rounded for display (GB/T 8170 half-even)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if v != v:  # NaN
        return None
    return float(round_gbt8170(v, digits_for(code)))


def text(value: Any, code: str) -> str:
    """*value* as written on a page: rounded, with exactly its decimals (``—`` when none)."""
    r = rounded(value, code)
    if r is None:
        return "—"
    return f"{r:.{digits_for(code)}f}"


def decimals(codes: Iterable[str]) -> dict[str, int]:
    return {c: digits_for(c) for c in codes}


def page_rules(store: Store | None, lang: str) -> dict[str, Any]:
    """What ``static/js/display.js`` needs: the names, the decimals and units per code."""
    codes = [*_pollutants(), *_tables()["air_item"], "AQI"]
    return {
        "names": labels(lang, store),
        "digits": decimals(codes),
        "source_digits": {c: source_digits(c) for c in _pollutants()},
        "units": {c: unit_for(c, lang) for c in codes},
    }


# ---------------------------------------------------------------------------- API rows
#: field → name table, for :func:`decorate`.
FIELD_TABLES = {
    "state": "task_state", "severity": "severity", "subject_kind": "subject_kind",
    "assignee_kind": "assignee_kind", "rule_id": "rule", "pollutant": "pollutant",
    "parameter": "pollutant", "region": "region", "scope": "scope",
}  # fmt: skip


def decorate(
    rows: Iterable[dict[str, Any]],
    lang: str,
    store: Store | None,
    fields: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Add ``<field>_name`` beside every coded field of *rows* (in place; the codes stay;
    ``rule_id`` → ``rule_name``).

    *fields* maps field → table (default :data:`FIELD_TABLES`); an ``assignee`` gets
    ``assignee_name`` (a team by its county's name).
    """
    spec = fields or FIELD_TABLES
    all_tables = tables(store)
    i = LANGS.index(lang)
    out = []
    for r in rows:
        for f, t in spec.items():
            if f in r and r[f] is not None and not isinstance(r[f], dict | list):
                pair = all_tables.get(t, {}).get(str(r[f]))
                r[f"{f.removesuffix('_id')}_name"] = pair[i] if pair else str(r[f])
        if "assignee" in r and r["assignee"] is not None:
            r["assignee_name"] = assignee_name(r["assignee"], lang, all_tables["region"])
        out.append(r)
    return out


_FLAG_PATTERNS = (
    ("used", re.compile(r"^used:(?P<origin>\w+)=(?P<n>\d+)$")),
    ("excluded", re.compile(r"^excluded:flag (?P<flag>\S+)=(?P<n>\d+)$")),
    ("source", re.compile(r"^source:(?P<src>.+)$")),
    ("count", re.compile(r"^(?P<key>days_valid|previous_days_valid)=(?P<n>\d+)$")),
    ("period_valid", re.compile(r"^period_valid=(?P<v>yes|no)$")),
    ("method", re.compile(r"^method=(?P<text>.+)$")),
    ("sha256", re.compile(r"^sha256=(?P<hex>[0-9a-f]+)$")),
    ("figure", re.compile(r"^figure (?P<name>.+?): entered by (?P<who>.+?) \((?P<src>.+)\)$")),
)


def evidence_flag(flag: str, lang: str = "zh") -> str:
    """A compensation input's provenance flag (``bishui.compensation.store_inputs``) in words:
    ``excluded:flag D=3`` → ``剔除 D（仪器仪表故障） 3 条`` / ``excluded D (instrument fault)
    3 values`` — the HJ 212-2017 data flag by its name in either language (Table 8, HJ 212-2025
    the same; ``bishui.hj212.tables.data_flag_names``), origins and sources named; a flag of
    no known form as it is."""
    t = tables()
    i = LANGS.index(lang)

    def w(table: str, key: str) -> str:
        pair = t.get(table, {}).get(key)
        return pair[i] if pair else key

    colon = "：" if lang == "zh" else ": "
    prefix = ""
    if flag.startswith("previous "):
        prefix, flag = w("evidence_flag", "previous") + " ", flag.removeprefix("previous ")
    if flag == "previous_invalid":
        return prefix + w("evidence_flag", "previous_invalid")
    for kind, pattern in _FLAG_PATTERNS:
        m = pattern.match(flag)
        if m is None:
            continue
        g = m.groupdict()
        if kind == "used":
            text = f"{w('evidence_flag', 'used')} {w('origin', g['origin'])} {g['n']} "
            text += w("evidence_flag", "count")
        elif kind == "excluded":
            f = g["flag"]
            named = w("flag", f)
            what = (w("evidence_flag", "no_flag") if f == "-"
                    else f"{f}（{named}）" if lang == "zh" and named != f
                    else f"{f} ({named})" if named != f else f)  # fmt: skip
            text = f"{w('evidence_flag', 'excluded')} {what} {g['n']} {w('evidence_flag', 'count')}"
        elif kind == "source":
            text = f"{w('evidence_flag', 'source')}{colon}{w('data_source', g['src'])}"
        elif kind == "count":
            text = f"{w('evidence_flag', g['key'])} {g['n']}"
        elif kind == "period_valid":
            text = f"{w('evidence_flag', 'period_valid')}{colon}{w('evidence_flag', g['v'])}"
        elif kind == "method":
            method = g["text"]
            if lang == "zh":  # the method's standards as the Chinese pages cite them
                method = re.sub(r"\bTable (\d+)", r"表\1", method)
                method = method.replace("station mean", "站点均值").replace("; ", "；")
            text = f"{w('evidence_flag', 'method')}{colon}{method}"
        elif kind == "sha256":
            text = f"SHA-256 {g['hex']}"
        else:
            text = (f"{w('evidence_flag', 'figure')} {g['name']}{colon}"
                    f"{w('evidence_flag', 'entered_by')} {g['who']} ({g['src']})")  # fmt: skip
        return prefix + text
    return prefix + flag


def evidence_flags(evidence: Any, lang: str = "zh") -> dict[str, str]:
    """Every flag string inside a statement's evidence (lists under a ``flags`` key) → its
    words (:func:`evidence_flag`), for the page's evidence table."""
    out: dict[str, str] = {}

    def walk(x: Any, key: str = "") -> None:
        if isinstance(x, Mapping):
            for k, v in x.items():
                walk(v, str(k))
        elif isinstance(x, list):
            for v in x:
                if key == "flags" and isinstance(v, str):
                    out[v] = evidence_flag(v, lang)
                else:
                    walk(v, key)

    walk(evidence)
    return out


@functools.cache
def _guard_patterns() -> tuple[tuple[re.Pattern[str], tuple[str, str]], ...]:
    """``[guard_reason]``'s keys as patterns: each ``{name}`` a group (non-greedy)."""
    out = []
    for template, pair in _tables()["guard_reason"].items():
        parts = re.split(r"\{(\w+)\}", template)
        rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((re.compile(f"^{rx}$"), pair))
    return tuple(out)


def guard_reason(why: str, lang: str = "zh") -> str | None:
    """A task-machine guard's reason (``TransitionRefused.why``) in *lang*, its varying parts
    named (a coordinate, a role); ``None`` when the reason is not a listed guard's."""
    i = LANGS.index(lang)
    for rx, pair in _guard_patterns():
        m = rx.match(why)
        if m is None:
            continue
        parts = dict(m.groupdict())
        if "key" in parts:
            parts["key"] = name("audit_field", parts["key"], lang) or parts["key"]
        if "role" in parts:
            parts["role"] = name("task_role", parts["role"], lang) or parts["role"]
        return pair[i].format(**parts)
    return None


def request_lang(request: Request) -> str:
    """The caller's language: ``?lang=``, the ``bishui_lang`` cookie, else the setting (zh)."""
    web = getattr(request.app.state, "web", None)
    default = getattr(getattr(web, "settings", None), "language", "zh")
    return language(request, default if default in LANGS else "zh")


def enterprise_names(store: Store | None, usccs: Iterable[str]) -> dict[str, str]:
    """Credit code → registered enterprise name, for the codes given."""
    codes = sorted({u for u in usccs if u})
    if store is None or not codes:
        return {}
    marks = ", ".join("?" for _ in codes)
    sql = f"SELECT uscc, name FROM enterprises WHERE uscc IN ({marks})"  # noqa: S608 - marks only
    rows = store.query(sql, codes)
    return {r["uscc"]: r["name"] for r in rows}


_TITLE_CODES = re.compile(r"^(?P<site>[0-9A-Z]{18}[A-Za-z0-9-]*):\s*(?P<rules>[A-Z0-9, ]+)$")


def task_title(title: str, site_code: str, enterprise: str | None, lang: str) -> str:
    """``91420882624701366W001: EXC`` → ``某某公司（DW001）：超标``; other titles unchanged."""
    m = _TITLE_CODES.match(title or "")
    if not m or not enterprise:
        return title
    rules = _rules()
    i = LANGS.index(lang)
    names = [rules.get(r, (r, r))[i] for r in re.split(r"[,\s]+", m["rules"].strip()) if r]
    outlet = site_code[18:] if len(site_code) > 18 else site_code
    if i == 0:
        return f"{enterprise} {outlet} 号排放口：{'、'.join(names)}"
    return f"{enterprise}, outlet {outlet}: {', '.join(names)}"


def tasks_display(
    rows: list[dict[str, Any]], lang: str, store: Store | None
) -> list[dict[str, Any]]:
    """Task views (``task_view``) with their names: ``state_name``, ``severity_name``,
    ``subject_kind_name``, ``region_name``, ``assignee_name`` (only where the view has the
    assignee), ``enterprise_name``, ``title_display`` and ``disposal_name``."""
    ents = enterprise_names(store, (r.get("uscc") or "" for r in rows))
    decorate(
        rows,
        lang,
        store,
        {
            "state": "task_state",
            "severity": "severity",
            "subject_kind": "subject_kind",
            "region": "region",
        },
    )
    for r in rows:
        ent = ents.get(r.get("uscc") or "")
        if ent:
            r["enterprise_name"] = ent
        r["title_display"] = task_title(r.get("title") or "", r.get("site_code") or "", ent, lang)
        disposal = r.get("disposal")
        if isinstance(disposal, dict) and disposal.get("kind"):
            r["disposal_name"] = name("disposal", disposal["kind"], lang)
    return rows


def findings_display(
    rows: list[dict[str, Any]], lang: str, store: Store | None
) -> list[dict[str, Any]]:
    """Findings and alerts with ``rule_name``, ``severity_name``, ``pollutant_name``,
    ``region_name``, ``enterprise_name`` (the codes stay)."""
    ents = enterprise_names(store, (r.get("uscc") or "" for r in rows))
    decorate(
        rows,
        lang,
        store,
        {
            "rule_id": "rule",
            "severity": "severity",
            "state": "alert_state",
            "pollutant": "pollutant",
            "region": "region",
            "subject_kind": "subject_kind",
        },
    )
    for r in rows:
        if ents.get(r.get("uscc") or ""):
            r["enterprise_name"] = ents[r["uscc"]]
    return rows

"""The code tables of HJ 212, loaded from the CSV files beside this module.

=====================================================  =======================================
file (``bishui/hj212/data/``)                           table
=====================================================  =======================================
``st_hj212-2017_table5.csv``                            ST system codes, HJ 212-2017 Table 5
``cn_hj212-2017_table9.csv``                            CN command codes, HJ 212-2017 Table 9,
                                                        plus the HJ/T 212-2005 alarm commands and
                                                        the HJ 212-2025 additions (``edition``,
                                                        ``source`` columns say which)
``pollutants_hj212-2017_appendix-b.csv``                pollutant codes, Appendix B Tables B.1/B.2
``pollutants_supplement.csv``                           codes in use but not in Appendix B
``codes_hjt212-2005_to_hj212-2017.csv``                 Appendix B "原编码" column: 2005 → 2017
``flags_data_hj212-2017_table8.csv``                    data flags (2017 Table 8; 2005 set)
``qnrtn_hj212-2017_table7.csv``                         QnRtn, Table 7
``exertn_hj212-2017_table6.csv``                        ExeRtn, Table 6
=====================================================  =======================================

The CN table's ``platform_sends`` / ``device_sends`` columns give the *kind* of a command in
each direction — ``request`` (answered 9011 QnRtn, then data, then 9012 ExeRtn), ``upload``
(answered 9014 when Flag bit A = 1), ``notice`` (answered 9013), ``answer`` (no reply),
``heartbeat`` — which is what the session's reply rules are driven by (STD17 §6.1, §6.5).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "Command",
    "Pollutant",
    "code_2005_to_2017",
    "commands",
    "data_flag_names",
    "data_flags",
    "exe_rtn_codes",
    "pollutants",
    "qn_rtn_codes",
    "system_codes",
]


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("bishui.hj212").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Command:
    """One row of the CN table."""

    cn: str
    name_zh: str
    edition: str
    platform_sends: str  # "", "request", "notice", "answer"
    device_sends: str  # "", "upload", "notice", "answer", "heartbeat"
    source: str


@dataclass(frozen=True)
class Pollutant:
    """One row of HJ 212-2017 Appendix B (or the supplement)."""

    code: str
    name_zh: str
    code_2005: str
    unit: str
    cou_unit: str
    data_type: str
    table: str


@functools.cache
def commands() -> dict[str, Command]:
    """CN → :class:`Command` (HJ 212-2017 Table 9 with 2005 and 2025 rows)."""
    return {r["cn"]: Command(**r) for r in _rows("cn_hj212-2017_table9.csv")}


@functools.cache
def system_codes() -> dict[str, str]:
    """ST → Chinese name (HJ 212-2017 Table 5)."""
    return {r["st"]: r["name_zh"] for r in _rows("st_hj212-2017_table5.csv")}


@functools.cache
def pollutants() -> dict[str, Pollutant]:
    """Pollutant code → :class:`Pollutant` (Appendix B, then the supplement)."""
    out = {r["code"]: Pollutant(**r) for r in _rows("pollutants_hj212-2017_appendix-b.csv")}
    for r in _rows("pollutants_supplement.csv"):
        r.pop("source")
        out.setdefault(r["code"], Pollutant(**r))
    return out


@functools.cache
def code_2005_to_2017() -> dict[str, str]:
    """HJ/T 212-2005 pollutant code → HJ 212-2017 code (Appendix B "原编码")."""
    return {r["code_2005"]: r["code_2017"] for r in _rows("codes_hjt212-2005_to_hj212-2017.csv")}


@functools.cache
def data_flags(edition: str = "2017") -> dict[str, str]:
    """Data flag → meaning for an edition (2017 Table 8; 2005 list; 2025 as 2017)."""
    ed = "2005" if edition == "2005" else "2017"
    return {
        r["flag"]: r["name_zh"]
        for r in _rows("flags_data_hj212-2017_table8.csv")
        if r["edition"] == ed
    }


@functools.cache
def data_flag_names(edition: str = "2017") -> dict[str, tuple[str, str]]:
    """Data flag → (Chinese name, English name) for an edition: the Chinese of 2017 Table 8
    (HJ 212-2025 keeps it) or of the 2005 list, and the table file's ``meaning`` column."""
    ed = "2005" if edition == "2005" else "2017"
    return {
        r["flag"]: (r["name_zh"], r["meaning"])
        for r in _rows("flags_data_hj212-2017_table8.csv")
        if r["edition"] == ed
    }


@functools.cache
def qn_rtn_codes() -> dict[int, str]:
    """QnRtn → meaning (HJ 212-2017 Table 7)."""
    return {int(r["code"]): r["name_zh"] for r in _rows("qnrtn_hj212-2017_table7.csv")}


@functools.cache
def exe_rtn_codes() -> dict[int, str]:
    """ExeRtn → meaning (HJ 212-2017 Table 6)."""
    return {int(r["code"]): r["name_zh"] for r in _rows("exertn_hj212-2017_table6.csv")}

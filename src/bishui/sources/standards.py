"""The names of the emission standards a permit's limits cite: the code at the head of a
limit's ``standard`` text with its Chinese title (``data/standard-titles.toml``, each title as
docs/references.md lists it), its table and grade in Chinese.

``GB 4915-2013 Table 2 (kiln and kiln-tail waste-heat system, general areas)`` →
``《水泥工业大气污染物排放标准》GB 4915-2013 表2``. A code without a verified title is shown by
its code only; English qualifiers are left out of the Chinese name unless the data file has
their Chinese (the English view shows the text as written).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources

#: A standard's code: GB, GB/T, HJ or HJ/T, number, year.
CODE = re.compile(r"^\s*((?:GB|HJ)(?:/T)?\s?\d+(?:\.\d+)?-\d{4})")
_TABLE = re.compile(r"\bTable\s+(\d+[A-Za-z]?)")
_GRADE = re.compile(r"[一二三]级[AB]?")


@cache
def _data() -> dict[str, dict[str, str]]:
    src = resources.files("bishui.sources") / "data" / "standard-titles.toml"
    doc = tomllib.loads(src.read_text("utf-8"))
    return {"titles": dict(doc.get("titles", {})), "qualifiers": dict(doc.get("qualifiers", {}))}


def titles() -> dict[str, str]:
    """Code → Chinese title (the verified ones only)."""
    return dict(_data()["titles"])


def standard_name(standard: str | None, lang: str = "zh") -> str | None:
    """*standard* (a limit's ``standard`` text) as a reader of *lang* names it."""
    if standard is None or lang != "zh":
        return standard
    m = CODE.match(standard)
    if m is None:  # no code to name: the text as written
        return standard
    code = re.sub(r"^(GB|HJ)(/T)?\s?", lambda g: f"{g.group(1)}{g.group(2) or ''} ", m.group(1))
    title = _data()["titles"].get(code)
    rest = standard[m.end() :]
    parts = [f"《{title}》{code}" if title else code]
    parts += [f"表{t}" for t in _TABLE.findall(rest)]
    parts += _GRADE.findall(rest)
    notes = [zh for en, zh in _data()["qualifiers"].items() if en in rest]
    name = " ".join(parts)
    return name + "".join(f"（{n}）" for n in notes)

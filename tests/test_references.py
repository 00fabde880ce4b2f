"""``docs/references.md`` resolves every standard and official document the code cites
(issue 15): a code cited anywhere in ``src/`` must appear there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "bishui"
REFERENCES = ROOT / "docs" / "references.md"
TEXT_SUFFIXES = {".py", ".toml", ".csv", ".json", ".yaml", ".yml", ".md", ".txt", ".html"}

#: A standard's code: prefix and number, with or without a space and an edition year
#: (``HJ 633-2012``, ``HJ633``, ``GB/T 8170``, ``HJ/T 212-2005``). The edition is not required:
#: the number identifies the standard, the page lists its editions.
STANDARD = re.compile(r"(?<![A-Za-z_])(HJ/T|HJ|GB/T|GB|JJG|JJF|DB\d{2}/T) ?(\d{2,5})(?![\d])")
#: An official document's number: 环办〔2011〕22号, 国办发〔2014〕38号, 生态环境部令第32号 …
DOCUMENT = re.compile(r"([\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号|生态环境部令第\d+号)")
#: A citation of the notes: "notes §B6.4(3)", "notes A2.5" (its first section).
NOTE = re.compile(r"notes:? (?:§ ?)?([A-Z]?[0-9][0-9.]*)")


def _sources() -> list[Path]:
    return [p for p in SRC.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]


def _docs() -> list[Path]:
    """The documentation pages (docs/*.md but the references page itself)."""
    return [p for p in (ROOT / "docs").glob("*.md") if p != REFERENCES]


def _codes(text: str) -> set[str]:
    return {f"{prefix} {number}" for prefix, number in STANDARD.findall(text)}


def test_every_cited_standard_is_in_the_references() -> None:
    listed = _codes(REFERENCES.read_text(encoding="utf-8"))
    missing: dict[str, str] = {}
    for path in [*_sources(), *_docs()]:
        for code in _codes(path.read_text(encoding="utf-8", errors="replace")) - listed:
            missing.setdefault(code, str(path.relative_to(ROOT)))
    assert not missing, f"cited in src/ or docs/ but not in docs/references.md: {missing}"


def test_every_cited_document_is_in_the_references() -> None:
    text = REFERENCES.read_text(encoding="utf-8")
    missing: dict[str, str] = {}
    for path in [*_sources(), *_docs()]:
        for number in DOCUMENT.findall(path.read_text(encoding="utf-8", errors="replace")):
            # the issuer may be written with more words before it in the code: compare the
            # number with the two characters before it (环办〔2011〕22号 → "环办〔2011〕22号")
            key = re.search(r"[\u4e00-\u9fff]{0,2}〔\d{4}〕\d+号$|生态环境部令第\d+号$", number)
            assert key is not None
            if key.group(0) not in text:
                missing.setdefault(key.group(0), str(path.relative_to(ROOT)))
    assert not missing, f"cited in src/ or docs/ but not in docs/references.md: {missing}"


def test_every_notes_citation_is_resolved() -> None:
    text = REFERENCES.read_text(encoding="utf-8")
    resolved = set(NOTE.findall(text))
    missing: dict[str, str] = {}
    for path in _sources():
        for section in NOTE.findall(path.read_text(encoding="utf-8", errors="replace")):
            base = section.rstrip(".")
            if base not in resolved:
                missing.setdefault(base, str(path.relative_to(ROOT)))
    assert not missing, f"notes sections cited in src/ but not resolved: {missing}"


def test_the_patterns_see_what_they_should() -> None:
    assert _codes("HJ633-2012 §4.3, GB/T 8170-2008 and HJ/T 212-2005; GB3838") == {
        "HJ 633", "GB/T 8170", "HJ/T 212", "GB 3838",
    }  # fmt: skip
    assert DOCUMENT.findall("见环办监测函〔2020〕82号与生态环境部令第32号") == [
        "见环办监测函〔2020〕82号", "生态环境部令第32号",
    ]  # fmt: skip
    assert NOTE.findall("(notes §B6.4(3)), notes §9 and notes A2.5") == ["B6.4", "9", "A2.5"]


def test_the_package_ships_its_type_marker() -> None:
    assert (SRC / "py.typed").is_file()

"""The cited standards by name (issue 16 item 2): the Chinese titles come from a data file whose
every title is the one docs/references.md lists for the code; a code without one is shown by
its code; English qualifiers stay on the English view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bishui.sources import standards

REFERENCES = Path(__file__).resolve().parents[2] / "docs" / "references.md"


def test_every_title_is_the_one_the_references_list() -> None:
    rows = {}
    for line in REFERENCES.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.match(r"^(GB|HJ)(/T)? \d", cells[0]):
            rows[cells[0]] = cells[1]
    titles = standards.titles()
    assert titles  # the file is read
    for code, title in titles.items():
        assert rows.get(code) == title, (code, title, rows.get(code))


@pytest.mark.parametrize(
    ("standard", "zh"),
    [
        ("GB 4915-2013 Table 2 (kiln and kiln-tail waste-heat system, general areas)",
         "《水泥工业大气污染物排放标准》GB 4915-2013 表2"),
        ("GB 13223-2011, existing coal-fired units from 2014-07-01",
         "《火电厂大气污染物排放标准》GB 13223-2011"),
        ("GB 18918-2002 一级A (plants built from 2006-01-01)",
         "《城镇污水处理厂污染物排放标准》GB 18918-2002 一级A"),
        ("GB 18918-2002 一级B, applied by the demo as a stand-in for the sector standard",
         "《城镇污水处理厂污染物排放标准》GB 18918-2002 一级B（演示中代替行业标准使用）"),
        ("HJ 9999-2030 Table 3 (something unverified)", "HJ 9999-2030 表3"),  # no title: code
        ("GB/T 8170-2008", "GB/T 8170-2008"),  # listed in the references, not in the file
        ("GB4915-2013 Table 2", "《水泥工业大气污染物排放标准》GB 4915-2013 表2"),
        ("本地标准", "本地标准"),
        ("", ""),
        (None, None),
    ],
)  # fmt: skip
def test_names_in_chinese(standard: str | None, zh: str | None) -> None:
    assert standards.standard_name(standard, "zh") == zh
    assert standards.standard_name(standard, "en") == standard  # English: as written

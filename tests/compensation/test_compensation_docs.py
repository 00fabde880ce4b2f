"""docs/compensation.md: its TOML examples load and its Python examples run."""

from __future__ import annotations

import re
from pathlib import Path

from comp_helpers import POINTS, REGIONS

from bishui.compensation import load_agreement
from bishui.compensation.shapes import SHAPES

DOC = Path(__file__).resolve().parents[2] / "docs" / "compensation.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(toml|python)\n(.*?)```", TEXT, flags=re.S)


def _compose(header: str, snippet: str) -> str:
    """Put the snippet's top-level lines before the header's tables, its terms after."""
    head_top, _, head_tables = header.partition("\n[")
    head_tables = "[" + head_tables.split("\n[[terms]]")[0]
    top, _, rest = snippet.partition("[[terms]]")
    head_top = "\n".join(
        line for line in head_top.splitlines() if not line.startswith("indicators")
    )
    if '"a3' in top:  # an air example: assess a set of air stations
        head_tables = head_tables.replace('"water_section"', '"air_stations"').replace(
            '["WS04"]', '["AQ01", "AQ04"]'
        )
    return f"{top}\n{head_top}\n{head_tables}\n[[terms]]{rest}"


def test_every_toml_example_loads() -> None:
    tomls = [b for kind, b in BLOCKS if kind == "toml"]
    header = tomls[0]
    regions = REGIONS | {"420822"}
    points = {**POINTS, "WS04": "water_section"}
    load_agreement(header, regions, points)
    shapes = set()
    for snippet in tomls[1:]:
        a = load_agreement(_compose(header, snippet), regions, points)
        shapes.add(a.terms[0].shape)
    assert shapes == set(SHAPES) - {"per_event"}


def test_every_python_example_runs() -> None:
    namespace: dict[str, object] = {}
    for kind, block in BLOCKS:
        if kind == "python":
            exec(compile(block, str(DOC), "exec"), namespace)
    assert "per_event" in SHAPES
    del SHAPES["per_event"]  # leave the registry as the package defines it

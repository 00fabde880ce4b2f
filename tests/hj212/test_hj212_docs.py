"""docs/hj212.md: its Python examples run, and it lists every CN of the table."""

from __future__ import annotations

import re
from pathlib import Path

from bishui.hj212.tables import commands

DOC = Path(__file__).resolve().parents[2] / "docs" / "hj212.md"


def test_examples_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)


def test_every_cn_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for cn in commands():
        assert f"| {cn} |" in text, cn

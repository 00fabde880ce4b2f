"""The examples in docs/sources.md run (in order, one namespace), and every rule is documented."""

import re
from pathlib import Path

from bishui.sources.rules import SCHEMA

DOC = Path(__file__).resolve().parents[2] / "docs" / "sources.md"


def test_examples_run() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    ns: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), ns)


def test_every_rule_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule_id in SCHEMA:
        assert re.search(rf"\b{rule_id}\b", text), rule_id

"""The Python examples of docs/air.md run as written, in order, in one namespace."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "air.md"


def test_air_doc_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 10
    namespace: dict = {}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/air.md block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/air.md python block {i + 1} failed: {exc!r}") from exc

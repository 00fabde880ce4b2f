"""Sample frames of the HJ 212 notes (../shared/standards/hj212-frames.jsonl), copied into
tests/hj212/data so the tests do not depend on a path outside the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def sample_frames() -> list[dict[str, Any]]:
    """Every sample frame, with ``raw`` = the frame bytes including CR LF."""
    out = []
    for line in (DATA / "hj212-frames.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            o = json.loads(line)
            o["raw"] = o["frame"].encode("utf-8") + b"\r\n"
            out.append(o)
    return out

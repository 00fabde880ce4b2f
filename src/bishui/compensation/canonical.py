"""Canonical JSON and content hashes, so a recomputation can be checked byte for byte.

Canonical form: UTF-8 JSON, keys sorted, no insignificant whitespace, ``ensure_ascii`` off
(Chinese text as itself), ``Decimal`` written as its exact decimal text (never a float), dates
as ISO 8601, tuples as lists. The hash is ``"sha256:" + hex digest`` of those bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["canonical_json", "content_hash", "plain"]


def plain(obj: Any) -> Any:
    """Turn ``obj`` into JSON-ready values: Decimal → str, date → ISO text, tuple → list."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dt.date | dt.datetime | dt.time):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if isinstance(obj, float):
        raise TypeError("floats are not allowed in canonical money documents")
    raise TypeError(f"cannot make {type(obj).__name__} canonical")


def canonical_json(obj: Any) -> str:
    """The canonical JSON text of ``obj`` (see module docstring)."""
    return json.dumps(plain(obj), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(obj: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``obj``."""
    return "sha256:" + hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()

"""The OpenAPI document /docs renders: sound, and what the browser test of /docs relies on.

After the exchange's routes were added, Swagger UI showed only the first few operations
and the browser test of /docs failed; the document was not at fault (it validates, every
``$ref`` resolves, no operationId repeats). Swagger UI 5.35 *virtualises* its operations
list once it has 150 rows or more (one row per tag plus one per operation): only the rows
near the viewport are in the DOM, the others appear as the page is scrolled. The browser
test therefore scrolls through the list; these tests keep the document sound and say when
the list is virtualised.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bishui.web.app import SWAGGER

BUNDLE = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "bishui"
    / "web"
    / SWAGGER.lstrip("/")
    / "swagger-ui-bundle.js"
)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return [op for item in spec["paths"].values() for m, op in item.items() if m in methods]


# the document does not depend on the backend: once, on the DuckDB model city
@pytest.mark.parametrize("city_db", ["duckdb"], indirect=True)
async def test_openapi_document_is_sound(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    ops = _operations(spec)
    repeated = [k for k, n in Counter(op["operationId"] for op in ops).items() if n > 1]
    assert not repeated, repeated
    # one tag each: Swagger UI files an operation under every tag it has
    assert [op["operationId"] for op in ops if len(op.get("tags", [])) != 1] == []
    schemas = spec.get("components", {}).get("schemas", {})
    dangling = sorted(
        {
            ref
            for ref in _refs(spec)
            if not ref.startswith("#/components/schemas/")
            or ref.removeprefix("#/components/schemas/") not in schemas
        }
    )
    assert not dangling, dangling


def test_swagger_ui_virtualises_at_150_rows() -> None:
    """The threshold the browser test of /docs scrolls for (read from the vendored bundle:
    when a Swagger UI upgrade moves it, the comments there and in docs/web.md must follow)."""
    text = BUNDLE.read_text(encoding="utf-8")
    assert "operations-virtual" in text
    assert re.search(r"\b[A-Za-z_$]{1,3}\.length>=150,", text)

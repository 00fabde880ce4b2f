"""Arbitrary damage to an agreement document gives ConfigError, never another exception."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import tomli_w
from comp_helpers import REGIONS, jingmen
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.compensation import load_agreement
from bishui.compensation.jingmen import AGREEMENTS_DIR, city_registry
from bishui.errors import ConfigError

DOCS = [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(AGREEMENTS_DIR.glob("*.toml"))]
REG = city_registry()

leaf = st.one_of(
    st.text(max_size=12),
    st.integers(-5, 400),
    st.booleans(),
    st.sampled_from(["0.5", "30 mg/L", "1 万元", "万元/t", "-1 元", "1e400", "WS01", "420802"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10, max_value=10),
)
value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(d: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, (*prefix, i))
    return out


def _set(d: Any, path: tuple[Any, ...], new: Any, delete: bool) -> None:
    for k in path[:-1]:
        d = d[k]
    if delete:
        del d[path[-1]]
    else:
        d[path[-1]] = new


def _copy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_copy(v) for v in d]
    return d


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_documents_are_refused_cleanly(data: st.DataObject) -> None:
    doc = _copy(data.draw(st.sampled_from(DOCS)))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        _set(doc, path, data.draw(value), data.draw(st.booleans()))
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):
        return  # not representable as TOML (e.g. a None); nothing to load
    try:
        load_agreement(text, REG.regions | REGIONS, REG.points)
    except ConfigError as exc:
        assert exc.field and exc.rule


def test_every_jingmen_document_round_trips_through_the_fuzzer_base() -> None:
    for doc in DOCS:
        text = tomli_w.dumps(doc)
        a = load_agreement(text, REG.regions, REG.points)
        assert a.rule_hash == jingmen()[a.id].rule_hash  # the hash is of content, not layout
        assert isinstance(a.terms[0].params, dict)
    assert Decimal(1) == Decimal("1.0")

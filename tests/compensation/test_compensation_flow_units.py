"""River flow units for compensation volumes come from the registry, never assumed (issue 12)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from comp_store import load_registry, register_flow_unit

from bishui.compensation import store_inputs
from bishui.errors import InputError
from bishui.store import Store


def test_flow_unit_from_the_registry_and_missing_unit_refused(store: Store) -> None:
    load_registry(store)
    with pytest.raises(InputError, match="no unit in the registry"):
        store_inputs._flow_unit(store, "WS02", "w00000")
    register_flow_unit(store, ["WS02"], "L/s")
    register_flow_unit(store, ["WS08"], "m³/s")
    assert store_inputs._flow_unit(store, "WS02", "w00000") == ("L/s", Decimal("0.001"))
    assert store_inputs._flow_unit(store, "WS08", "w00000") == ("m³/s", Decimal(1))
    register_flow_unit(store, ["WS08"], "m3/h")
    with pytest.raises(InputError, match="must be one of"):
        store_inputs._flow_unit(store, "WS08", "w00000")

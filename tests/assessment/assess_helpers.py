"""Shared set-up for the assessment service tests: the model city's regions in a store."""

from __future__ import annotations

import copy

from bishui.demo import city
from bishui.registry import Registry, apply
from bishui.store import Store


def load_regions(store: Store, sites: bool = False) -> city.ModelCity:
    model = city.build()
    sub = copy.copy(model)
    sub.registry = Registry(
        regions=list(model.registry.regions),
        sites=[s for s in model.registry.sites if s.kind in ("air", "water")] if sites else [],
    )
    apply(store, sub.registry)
    return sub

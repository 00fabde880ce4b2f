"""The application's assembly: the one place that names every domain whose tables live in the
store and hands their migrations to it, and every domain's refresh hook to the runtime.

The store (``bishui.store``) knows only its own core tables; each domain keeps its migrations
beside its code (``bishui/<domain>/schema.py``, a ``MIGRATIONS`` list in the store's format).
A new domain adds one line to :data:`DOMAINS`. Entry points open stores with
:func:`open_store` here, which registers the domains before the store migrates.

The order of :data:`DOMAINS` is the order migrations run in and was fixed when the registry
replaced the store's list of module names (issue 15): an existing database finds the same
``schema_version`` rows and migrates unchanged.

:data:`REFRESH` lists what the running platform recomputes every minute after aggregation
(``bishui.runtime.refresh_engines``), in order; a domain with a periodic task adds one entry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import ModuleType

from bishui import runtime
from bishui.assessment import schema as assessment_schema
from bishui.compensation import schema as compensation_schema
from bishui.energy import schema as energy_schema
from bishui.enforcement import schema as enforcement_schema
from bishui.exchange import schema as exchange_schema
from bishui.grid import schema as grid_schema
from bishui.participation import schema as participation_schema
from bishui.police import schema as police_schema
from bishui.programmes import schema as programmes_schema
from bishui.reports import schema as reports_schema
from bishui.rivers import schema as rivers_schema
from bishui.sources import schema as sources_schema
from bishui.store import Store
from bishui.store import open_store as _open_store
from bishui.store import schema as store_schema
from bishui.vehicles import schema as vehicles_schema
from bishui.water import schema as water_schema
from bishui.web import schema as web_schema

#: Every domain with tables in the store, in migration order (after the store's ``core``):
#: its name and the module whose ``MIGRATIONS`` list holds its migrations.
DOMAINS: tuple[tuple[str, ModuleType], ...] = (
    ("web", web_schema),
    ("compensation", compensation_schema),
    ("water", water_schema),
    ("sources", sources_schema),
    ("enforcement", enforcement_schema),
    ("reports", reports_schema),
    ("exchange", exchange_schema),
    ("energy", energy_schema),
    ("vehicles", vehicles_schema),
    ("assessment", assessment_schema),
    ("grid", grid_schema),
    ("police", police_schema),  # environmental police and joint operations (issue 20)
    ("rivers", rivers_schema),
    ("programmes", programmes_schema),  # damage cases, projects and funds (issue 20)
    ("participation", participation_schema),  # citizen reports (issue 20)
)


class _ModuleMigrations:
    """A domain module's ``MIGRATIONS``, read when the store migrates."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    def __call__(self) -> store_schema.Migrations:
        migrations: store_schema.Migrations = self.module.MIGRATIONS
        return migrations


_SOURCES = {name: _ModuleMigrations(module) for name, module in DOMAINS}


# The refresh hooks import their domain's service when first called, not when a command starts
# (every command registers the domains; only the running platform refreshes).
def _water_supervision(store: Store, now: dt.datetime) -> None:
    from bishui.water import supervision

    supervision.refresh(store, now)


def _water_outbox(store: Store, now: dt.datetime) -> None:
    from bishui.water import outbox

    outbox.refresh(store, now)


def _sources(store: Store, now: dt.datetime) -> None:
    from bishui.sources import service

    service.refresh(store, now)


def _reports(store: Store, now: dt.datetime) -> None:
    from bishui.reports import service

    service.refresh(store, now)


def _exchange(store: Store, now: dt.datetime) -> None:
    from bishui.exchange import rights

    rights.refresh(store, now)


def _vehicles(store: Store, now: dt.datetime) -> None:
    from bishui.vehicles import service

    service.refresh(store, now)


def _rivers(store: Store, now: dt.datetime) -> None:
    from bishui.rivers import service

    service.sync(store, now=now)


def _programmes(store: Store, now: dt.datetime) -> None:
    from bishui.programmes import service

    service.refresh(store, now)


#: Every domain's refresh hook, ``(name, hook(store, now))``, in the order they run.
REFRESH: tuple[tuple[str, runtime.RefreshHook], ...] = (
    ("water.supervision", _water_supervision),  # the drinking-water sources' alerts
    ("water.outbox", _water_outbox),  # after the supervision: routes the alerts it stored
    ("sources", _sources),  # the pollution-source checks of the last complete days
    ("reports", _reports),  # the reports of the closed day, month, year (docs/reports.md)
    ("exchange", _exchange),  # emission rights past their five-year validity expire
    ("vehicles", _vehicles),  # the inspections of the previous day, once (docs/vehicles.md)
    ("rivers", _rivers),  # patrol problems whose task closed → resolved (docs/governance.md)
    ("programmes", _programmes),  # overdue milestones → 督办 tasks (docs/governance.md)
)


def register_domains() -> None:
    """Hand every domain's migrations to the store and its refresh hook to the runtime
    (idempotent)."""
    for name, _ in DOMAINS:
        store_schema.register(name, _SOURCES[name])
    for name, hook in REFRESH:
        runtime.register_refresh(name, hook)


def open_store(url: str | Path, *, schema: str | None = None, migrate: bool = True) -> Store:
    """:func:`bishui.store.open_store`, with every domain's tables registered first."""
    register_domains()
    return _open_store(url, schema=schema, migrate=migrate)

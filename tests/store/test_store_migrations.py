"""Migrations registered by the application (issue 15): the store names no domain, and a
database migrated by the code before the registry opens and migrates unchanged."""

from __future__ import annotations

import ast
import gzip
import shutil
from pathlib import Path

import pytest

from bishui.app import DOMAINS, register_domains
from bishui.errors import StorageError
from bishui.store import Store, open_store, schema

DATA = Path(__file__).parent / "data"
STORE_PKG = Path(__file__).resolve().parents[2] / "src" / "bishui" / "store"
#: The order the store's list of module names (before issue 15) migrated the domains in.
PRE15_ORDER = ["core", "web", "compensation", "water", "sources", "enforcement"]
#: Domains added since are appended after them (a new domain never reorders the old ones).
ORDER = [*PRE15_ORDER, "reports", "exchange", "energy", "vehicles", "assessment", "grid"]
ORDER += ["police"]  # issue 20 item 2
ORDER += ["rivers"]  # river and lake chiefs (issue 20)
ORDER += ["programmes"]  # damage cases, projects and funds (issue 20)
ORDER += ["participation"]  # citizen reports (issue 20)


def _versions(store: Store) -> list[tuple[str, int, object]]:
    rows = store.query("SELECT domain, version, applied_at FROM schema_version")
    return sorted((r["domain"], int(r["version"]), r["applied_at"]) for r in rows)


def test_the_registry_keeps_the_order_and_names_of_before() -> None:
    register_domains()
    assert list(schema.registered()) == ORDER
    assert [name for name, _ in DOMAINS] == ORDER[1:]


def test_a_database_of_the_code_before_opens_and_migrates(tmp_path: Path) -> None:
    """``pre15.duckdb.gz``: made by the code at f43e3a5 with each domain that has more than one
    migration held one behind (core 1, water 1, enforcement 2), and one region stored."""
    path = tmp_path / "pre15.duckdb"
    with gzip.open(DATA / "pre15.duckdb.gz") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    store = open_store(path, migrate=False)
    try:
        before = _versions(store)
        assert [(d, v) for d, v, _ in before] == [
            ("compensation", 1), ("core", 1), ("enforcement", 1), ("enforcement", 2),
            ("sources", 1), ("water", 1), ("web", 1),
        ]  # fmt: skip
        versions = store.migrate()
        assert versions == {d: len(schema.domain_migrations(d)) for d in ORDER}
        after = _versions(store)
        assert set(before) <= set(after)  # the old rows are kept as they were
        assert len(after) == sum(versions.values())
        assert store.rows("regions")[0]["name"] == "荆门市"
        assert store.count("measurement_revision") == 0  # core 2's table exists now
        assert store.migrate() == versions  # and nothing more to do
    finally:
        store.close()


def test_the_registry_records_what_the_old_list_did_and_reapplies_nothing(store: Store) -> None:
    """On both backends: a fresh store records exactly the ``schema_version`` rows the store's
    list of module names did, and a store that is up to date gets nothing applied again."""
    full = _versions(store)
    assert sorted((d, v) for d, v, _ in full) == sorted(
        (d, v) for d in ORDER for v in range(1, len(schema.domain_migrations(d)) + 1)
    )
    store.execute("CREATE TABLE probe_after (x INTEGER)")
    assert store.migrate() == {d: len(schema.domain_migrations(d)) for d in ORDER}
    assert _versions(store) == full and store.table_exists("probe_after")


def test_register_refuses_a_changed_sequence_and_accepts_the_same() -> None:
    register_domains()
    web = schema.domain_migrations("web")
    schema.register("web", web)  # the same list: a no-op
    schema.register("web", [list(m) for m in web])  # an equal list: a no-op
    with pytest.raises(StorageError, match="other migrations"):
        schema.register("web", [*web, ["CREATE TABLE x (a INTEGER)"]])
    with pytest.raises(StorageError, match="domain name"):
        schema.register("web; DROP", [])
    with pytest.raises(StorageError, match="no migrations"):
        schema.domain_migrations("nowhere")


def test_the_store_package_imports_no_domain() -> None:
    allowed = ("bishui.store", "bishui.errors")
    for path in STORE_PKG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("bishui"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
        assert "bishui.web" not in path.read_text(encoding="utf-8"), path.name

"""One direction of dependency (ARCHITECTURE rule 7): the import graph of ``src/bishui``.

Every import is read with ``ast`` — at module level and inside functions (a function-level
import hides a cycle from the interpreter, not from the design) — and so is every string that
names a module (``"bishui.water.schema:MIGRATIONS"``), since an import by name is still a
dependency. A node is a top-level package (``air``, ``web`` …) or module (``exact``,
``cli_options`` …). The test fails on an edge the table below does not allow, and on any cycle.
docs/architecture.md draws the same table.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import bishui

SRC = Path(bishui.__file__).parent

#: the base layer: anyone may import these, and they import only each other
BASE = frozenset({"bishui", "errors", "timeutil", "rounding", "exact", "cli_options",
                  "export_header"})  # fmt: skip
BASE |= {"metrics"}  # the process's Prometheus metrics (issue 21)
#: the domains; none of them may import the application layer (APP)
DOMAINS = frozenset({"hj212", "store", "registry", "readings", "ingest", "enforcement", "air",
                     "water", "sources", "compensation", "reports", "exchange", "energy",
                     "assessment", "vehicles", "grid"})  # fmt: skip
DOMAINS |= {"police"}  # environmental police and joint operations (issue 20)
DOMAINS |= {"rivers"}  # river and lake chiefs (issue 20)
DOMAINS |= {"programmes"}  # damage cases, projects and funds (issue 20)
DOMAINS = DOMAINS | {"participation"}  # citizen reports, disclosure (issue 20)
#: the application: assembles the domains (commands, web, demo, the running platform)
APP = frozenset({"cli", "__main__", "app", "settings", "core_cli", "runtime", "web", "demo",
                 "control"})  # fmt: skip

#: node → the nodes (besides BASE) it may import. Read downwards: a domain lists only domains.
ALLOWED: dict[str, frozenset[str]] = {
    "hj212": frozenset(),
    "store": frozenset(),
    "registry": frozenset({"hj212", "store"}),
    "ingest": frozenset({"hj212", "registry", "store"}),
    # the one read model of stored series: which stored value counts (docs/data-model.md)
    "readings": frozenset({"registry", "store"}),
    # enforcement takes alerts through its intake (bishui.enforcement.intake.AlertIn): the
    # producers (sources, water) import it, never the reverse.
    "enforcement": frozenset({"store"}),
    # air and water carry their stations and sections as registry.model.Site records
    "air": frozenset({"readings", "registry", "store"}),
    "water": frozenset({"air", "ingest", "readings", "registry", "store", "enforcement"}),
    "sources": frozenset({"air", "water", "readings", "registry", "store", "enforcement"}),
    "compensation": frozenset({"air", "water", "readings", "registry", "store"}),
    # PDF reports read the engines' public results; nothing below imports them
    "reports": frozenset({"air", "water", "sources", "store"})
    # the monthly market report (exchange-month) reads the exchange's settled trades
    | {"exchange"}
    # the departure-audit summary (departure-audit) is the assessment's, stored as a report
    | {"assessment"},
    # the exchange's registry: units tied to permits (a trade issues permit versions through
    # the sources engine) and verified emissions read through the read model
    "exchange": frozenset({"readings", "registry", "sources", "store"}),
    # energy accounts; the reduction accounts read the sources' masses and permits
    "energy": frozenset({"readings", "registry", "sources", "store"}),
    # scorecards draw on every engine's published figures (never the reverse)
    "assessment": frozenset(
        {"air", "water", "sources", "enforcement", "compensation", "exchange", "energy"}
        | {"readings", "registry", "store"}
    ),
    # inspection supervision: the black box speaks HJ 212-style frames; findings go to the
    # enforcement intake
    "vehicles": frozenset({"hj212", "registry", "store", "enforcement"}),
    # grid sensors over MQTT: the registry's devices, ingest's rules and tables (docs/grid.md)
    "grid": frozenset({"hj212", "ingest", "registry", "store"}),
    # case transfer reads a task, its evidence files and audit events through enforcement's
    # public service; an operation's findings go to the enforcement intake
    "police": frozenset({"store", "enforcement"}),
    # river and lake chiefs: sections measured by the water engine, problems into enforcement
    "rivers": frozenset({"water", "enforcement", "registry", "store"}),
    # damage cases, projects and funds: evidence checks, the audit chain and 督办 tasks are
    # enforcement's
    "programmes": frozenset({"store", "enforcement"}),
    "participation": frozenset({"enforcement", "sources", "store"}),
    "web": frozenset(DOMAINS),
    # the assembly: hands every domain's migrations (web's too) to the store and its refresh
    # hook to the runtime
    "app": frozenset(DOMAINS | {"web", "runtime"}),
    # the running platform: its defaults are the declared settings'
    "runtime": frozenset(DOMAINS | {"web", "settings", "control"}),
    # store commands handed to the running platform (the DuckDB file is held by one process)
    "control": frozenset({"store"}),
    # every setting, declared once: gathers the gateway's limits and the web's settings
    "settings": frozenset({"hj212", "web"}),
    # the demo reads the alerts' settings (the senders) like bishui serve
    "demo": frozenset(DOMAINS | {"web", "runtime", "settings"}),
    "core_cli": frozenset(DOMAINS | {"runtime", "demo", "settings"}),
    "cli": frozenset(DOMAINS | APP),
    "__main__": frozenset({"cli"}),
}

#: Edges allowed for now, each with the change that removes it (none today: the application
#: registers the domains' migrations, ``bishui.app``).
PENDING: dict[tuple[str, str], str] = {}

_NAME = re.compile(r"bishui(\.[A-Za-z_][A-Za-z_0-9]*)+(:[A-Za-z_][A-Za-z_0-9]*)?")


def _node(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bishui"


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(SRC.rglob("*.py")):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _targets(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import and module-naming string in *path*."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((name, node.lineno))
            # "from bishui import web" imports the package bishui.web
            out += [(f"{name}.{a.name}", node.lineno) for a in node.names
                    if f"{name}.{a.name}" in known]  # fmt: skip
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # a module named by a string: "bishui.x.y" or "bishui.x.y:attribute"
            name = node.value.partition(":")[0]
            if _NAME.fullmatch(node.value) and name in known:
                out.append((name, node.lineno))
    return [(t, line) for t, line in out if t == "bishui" or t.startswith("bishui.")]


def _edges() -> dict[tuple[str, str], list[str]]:
    """``(node, node) → ["module:line -> target", …]`` over the whole package."""
    modules = _modules()
    known = set(modules)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in modules.items():
        src = _node(module)
        for target, line in _targets(module, path, known):
            dst = _node(target)
            if dst != src:
                edges[(src, dst)].append(f"{module}:{line} -> {target}")
    return edges


def _pending(site: str, dst: str) -> bool:
    return (site.partition(":")[0], dst) in PENDING


def test_every_node_is_declared() -> None:
    nodes = {n for edge in _edges() for n in edge}
    assert nodes <= BASE | DOMAINS | APP, sorted(nodes - BASE - DOMAINS - APP)
    assert set(ALLOWED) == DOMAINS | APP


def test_dependencies_point_one_way() -> None:
    bad = []
    for (src, dst), sites in sorted(_edges().items()):
        sites = [s for s in sites if not _pending(s, dst)]
        if not sites:
            continue
        ok = dst in BASE if src in BASE else dst in BASE or dst in ALLOWED[src]
        if not ok:
            bad.append(f"{src} -> {dst}: {sites[:3]}")
    assert not bad, "\n".join(bad)


def test_no_domain_imports_the_application() -> None:
    upward = [
        f"{src} -> {dst}: {[s for s in sites if not _pending(s, dst)][:3]}"
        for (src, dst), sites in sorted(_edges().items())
        if src in DOMAINS and dst in APP and any(not _pending(s, dst) for s in sites)
    ]
    assert not upward, "\n".join(upward)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for (src, dst), sites in _edges().items():
        if any(not _pending(s, dst) for s in sites):
            graph[src].add(dst)
    # Tarjan's strongly connected components: a component of more than one node is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_graph_sees_function_level_and_named_imports(tmp_path: Path) -> None:
    # The walker itself: a function-level import, a relative import and a module named by a
    # string are all edges.
    p = tmp_path / "m.py"
    p.write_text(
        "def f():\n    from bishui.water import tables\n\n"
        "from . import errors\nX = 'bishui.sources.schema:MIGRATIONS'\n",
        encoding="utf-8",
    )
    known = {"bishui.water", "bishui.water.tables", "bishui.errors", "bishui.sources.schema",
             "bishui.sources"}  # fmt: skip
    found = {t for t, _ in _targets("bishui.air.m", p, known)}
    assert {"bishui.water", "bishui.air", "bishui.sources.schema"} <= found


# -------------------------------------------------------- docs/architecture.md draws this table
DOC = SRC.parents[1] / "docs" / "architecture.md"
_LAYER = {**dict.fromkeys(DOMAINS, "domain"), **dict.fromkeys(APP, "application")}
_ORDER = ["hj212", "store", "registry", "ingest", "readings", "enforcement", "air", "water",
          "sources", "compensation", "exchange", "energy", "assessment", "vehicles", "reports",
          "grid", "settings", "runtime", "control", "app", "web", "demo", "core_cli", "cli",
          "__main__"]  # fmt: skip
_ORDER.insert(_ORDER.index("settings"), "police")  # the last domain before the application
_ORDER.insert(_ORDER.index("settings"), "rivers")  # river and lake chiefs (issue 20)
_ORDER.insert(_ORDER.index("reports") + 1, "programmes")  # issue 20
_ORDER.insert(_ORDER.index("settings"), "participation")  # issue 20, after the domains


_PACKAGES = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}


def _name(node: str) -> str:
    return f"`{node}/`" if node in _PACKAGES else f"`{node}.py`"


def layering_table() -> str:
    """The Markdown table of :data:`ALLOWED` that docs/architecture.md carries (regenerate:
    ``.venv/bin/python -c "import sys; sys.path.insert(0, 'tests'); import test_layering as t;
    print(t.layering_table()); print(t.layering_mermaid())"``)."""
    lines = ["| node | layer | may import (besides the base) |", "| --- | --- | --- |"]
    for node in _ORDER:
        rest, parts = set(ALLOWED[node]), []
        if rest >= DOMAINS:
            parts.append("every domain")
            rest -= DOMAINS
        if APP - {node} <= rest:
            parts.append("every other application node")
            rest -= APP
        allowed = ", ".join(parts + [_name(n) for n in _ORDER if n in rest]) or "—"
        lines.append(f"| {_name(node)} | {_LAYER[node]} | {allowed} |")
    base = ", ".join(f"`{n}`" for n in sorted(BASE))
    lines.append(f"| {base} | base | only each other |")
    return "\n".join(lines)


def layering_mermaid() -> str:
    """A Mermaid graph of the domains' allowed edges, transitively reduced (an edge implied by
    a path of others is left out), with the application layer as one box above them."""
    domains = [n for n in _ORDER if n in DOMAINS]

    lines = [
        "flowchart TD",
        "    APP[application: " + ", ".join(n for n in _ORDER if n in APP) + "]",
    ]
    lines += [f"    APP --> {d}" for d in domains if not any(d in ALLOWED[o] for o in DOMAINS)]
    for src in domains:
        for dst in (d for d in domains if d in ALLOWED[src]):
            if dst not in _via(src, dst):
                lines.append(f"    {src} --> {dst}")
    lines.append("    BASE[base: " + ", ".join(sorted(BASE)) + "]")
    return "\n".join(lines)


def _via(src: str, dst: str) -> set[str]:
    """*dst* if another domain *src* may import reaches it (the edge src → dst is implied)."""
    out: set[str] = set()
    for mid in ALLOWED[src] & DOMAINS:
        if mid == dst:
            continue
        seen, todo = {mid}, [mid]
        while todo:
            for nxt in ALLOWED[todo.pop()] & DOMAINS:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        if dst in seen:
            out.add(dst)
    return out


def test_the_architecture_page_draws_this_table() -> None:
    assert sorted(_ORDER) == sorted(DOMAINS | APP), "add the new node to _ORDER"
    text = DOC.read_text(encoding="utf-8")
    assert layering_table() in text, "docs/architecture.md: regenerate the layering table"
    assert layering_mermaid() in text, "docs/architecture.md: regenerate the layering diagram"

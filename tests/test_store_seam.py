"""Nothing outside ``bishui.store`` touches the store's private parts (issue 15).

The store's public write API (``Store.transaction()`` and the methods of ``Store``) is the one
way to write; a private name used from outside would let a domain bypass the writer lock or
depend on one backend's internals. The check walks the syntax tree of every module in
``src/``, ``tests/`` and ``bench/`` and refuses an attribute access — or a
``getattr``/``setattr`` with a constant name — that names a private attribute of the store
classes, on anything but ``self``/``cls`` (a class's own private attributes that happen to
share a name are its own).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "src" / "bishui" / "store"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def store_private_names() -> set[str]:
    """Every private attribute the store package's classes define or assign on ``self``."""
    names: set[str] = set()
    for path in STORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        names.add(item.name)
                    elif isinstance(item, ast.Assign | ast.AnnAssign):
                        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                        names |= {t.id for t in targets if isinstance(t, ast.Name)}
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return {n for n in names if _private(n)}


def uses(path: Path, private: set[str], root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        name: str | None = None
        owner: ast.expr | None = None
        if isinstance(node, ast.Attribute):
            name, owner = node.attr, node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name, owner = node.args[1].value, node.args[0]
        if name in private and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
            out.append(f"{path.relative_to(root)}:{node.lineno}: .{name}")
    return out


def test_the_store_has_private_names_to_protect() -> None:
    private = store_private_names()
    # the hooks the domains used before the public transaction existed (issue 15)
    assert {"_exec", "_execmany", "_write_tx", "_insert_rows", "_upsert_rows", "_read"} <= private


def test_no_private_store_use_outside_the_store() -> None:
    private = store_private_names()
    found: list[str] = []
    for top in ("src", "tests", "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if STORE in path.parents:
                continue
            found += uses(path, private)
    assert not found, "private store names used outside bishui.store:\n" + "\n".join(found)


def test_the_check_sees_a_private_use(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(store, cur):\n"
        "    store._exec(cur, 'SELECT 1')\n"
        "    with store.writer_lock, store._write_tx():\n"
        "        getattr(store, '_read')\n"
        "class Own:\n"
        "    def g(self):\n"
        "        return self._read\n",
        encoding="utf-8",
    )
    found = [u.rsplit(": ", 1)[1] for u in uses(probe, store_private_names(), tmp_path)]
    assert sorted(found) == ["._exec", "._read", "._write_tx"]  # not Own's self._read

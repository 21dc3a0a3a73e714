"""The import graph of chalicelib: no cycles, and api -> domain -> db one way.

Read from the source with `ast` (nothing is imported, no DynamoDB): every import counts,
the ones inside functions too, since a function-level import only hides a cycle. Run by
`make lint` (`layers`).

Modules are the nodes. `from chalicelib.domain import leads` is an edge to the package
`domain.leads` (its __init__, which imports its submodules); `from chalicelib.domain.leads.pool
import x` is an edge to that submodule only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chalicelib"

# (layer of the importer, what it may not import): api -> domain -> db, never back or past.
FORBIDDEN = {
    "api": ("chalicelib.db",),
    "domain": ("chalicelib.api", "chalice", "pynamodb", "boto3", "botocore"),
    "db": ("chalicelib.domain", "chalicelib.api", "chalice"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported name, line) of every import in the file, wherever it stands, made absolute;
    a name imported from a package is the submodule when there is one."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full if full in modules else base, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target, _ in _imports(name, path, modules) if target in modules and target != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_module_imports_its_way_back_to_itself():
    assert _cycles(_graph()) == [], "an import cycle: move the piece both sides need down into a module both import"


def test_layers_are_neither_skipped_nor_reversed():
    modules = _modules()
    wrong = []
    for name, path in sorted(modules.items()):
        layer = name.split(".")[1] if name.count(".") else ""
        for target, line in _imports(name, path, modules):
            for banned in FORBIDDEN.get(layer, ()):
                if target == banned or target.startswith(banned + "."):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert wrong == [], "api -> domain -> db only; domain knows no chalice, pynamodb or boto3; db no chalice"


def test_the_check_sees_a_cycle_hidden_in_a_function_and_a_skipped_layer(tmp_path, monkeypatch):
    package = tmp_path / "chalicelib"
    for folder in ("api", "domain", "db"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "domain" / "a.py").write_text("from chalicelib.domain import b\n")
    (package / "domain" / "b.py").write_text("def f():\n    from chalicelib.domain.a import x\n")
    (package / "api" / "v.py").write_text("from chalicelib.db import keys\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    assert _cycles(_graph()) == [["chalicelib.domain.a", "chalicelib.domain.b"]]
    modules = _modules()
    assert ("chalicelib.db", 1) in _imports("chalicelib.api.v", modules["chalicelib.api.v"], modules)

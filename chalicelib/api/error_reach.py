"""Which error codes a route can answer, read from the source: the codes its OpenAPI
operation lists (an enum per response status).

From a view function this follows, through the package's own code, every function, method
and class it names (called or passed on, like a retry's callback) and collects the codes on
the way: catalogue codes written as strings (`code="LEAD_NOT_FOUND"`, a table of them),
"conflict:CODE:..." transaction labels, and the class code of an error raised without one
(`NotFoundError("...")` answers NOT_FOUND). A name it cannot resolve statically (a method of
an object passed in) stands for every method of that name in the package. So the set errs
on the side of a code too many, never one too few; tests/conftest.py checks every error the
suite receives against its route's list.

Lazy: nothing is read or parsed until the OpenAPI document is built (GET /openapi.json,
once per container; `make openapi`). The package keeps our own `.py` files for this.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from chalicelib.error_catalogue import CATALOGUE
from chalicelib.errors import CrmError

PACKAGES = ("chalicelib", "app")
# modules that hold codes without answering them: the catalogue (every code, with its
# messages), this module and the OpenAPI document's builder
_NOT_FOLLOWED = frozenset({"chalicelib.error_catalogue", "chalicelib.api.openapi", __name__})
_LABEL = re.compile(r"^conflict:([A-Z][A-Z0-9_]+):")


def _ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in PACKAGES and module not in _NOT_FOLLOWED


def _function(obj: Any) -> Any:
    """The plain function behind a staticmethod, classmethod, bound method or decorator."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    return inspect.unwrap(obj) if callable(obj) else obj


@cache
def _tree(module_name: str) -> ast.Module | None:
    module = sys.modules.get(module_name)
    try:
        source = inspect.getsource(module) if module else None
    except (OSError, TypeError):
        source = None
    return ast.parse(source) if source else None


def _definition(obj: Any) -> ast.AST | None:
    """The def of a function (the outermost one, for a function defined inside another)."""
    tree = _tree(obj.__module__)
    if tree is None:
        return None
    path = obj.__qualname__.split(".<locals>.")[0].split(".")
    scope: list[ast.stmt] = tree.body
    for i, name in enumerate(path):
        node = next(
            (
                n
                for n in scope
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
            ),
            None,
        )
        if node is None:
            return None
        if i == len(path) - 1:
            return node
        scope = node.body
    return None


@cache
def _module_constants(module_name: str) -> dict[str, ast.AST]:
    """A module's top-level assignments by name (a table of codes a function reads)."""
    tree = _tree(module_name)
    found: dict[str, ast.AST] = {}
    for node in tree.body if tree else []:
        targets: list[ast.expr]
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            targets, value = [], None
        for target in targets:
            if isinstance(target, ast.Name) and value is not None:
                found[target.id] = value
    return found


@lru_cache(maxsize=1)
def _methods_by_name() -> dict[str, list[Any]]:
    """Every method defined in the package's classes, by name: what `something.name(...)`
    may call when `something` cannot be resolved."""
    found: dict[str, list[Any]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in PACKAGES:
            continue
        for cls in list(vars(module).values()):
            if not (inspect.isclass(cls) and cls.__module__ == name):
                continue
            for attr, value in vars(cls).items():
                fn = _function(value)
                if inspect.isfunction(fn) and _ours(fn):
                    found.setdefault(attr, []).append(fn)
    return found


def _codes_in(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            if child.value in CATALOGUE:
                yield child.value
            elif match := _LABEL.match(child.value):
                yield match.group(1)


def _codes_held(value: Any, depth: int = 0) -> Iterator[str]:
    """The catalogue codes in a constant: a code, or a table (dict, tuple...) holding codes."""
    if isinstance(value, str):
        if value in CATALOGUE:
            yield value
        elif match := _LABEL.match(value):
            yield match.group(1)
    elif depth < 3 and isinstance(value, dict):
        for key, item in list(value.items())[:1000]:
            yield from _codes_held(key, depth + 1)
            yield from _codes_held(item, depth + 1)
    elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        for item in list(value)[:1000]:
            yield from _codes_held(item, depth + 1)


class _Unit:
    """One function's own codes and the package's functions and classes it names."""

    def __init__(self, fn: Any):
        self.codes: set[str] = set()
        self.refs: list[Any] = []
        self.imported: dict[str, Any] = {}  # names a function imports for itself
        self.local: set[str] = set()  # names it binds itself (arguments, assignments): not the module's
        self.module = sys.modules.get(fn.__module__)
        qualname = fn.__qualname__.split(".<locals>.")[0]
        owner = qualname.rsplit(".", 1)[0] if "." in qualname else None
        self.owner = self._resolve_path(owner.split(".")) if owner else None
        node = _definition(fn)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # its body, not its decorators
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    self.imported.update(_imports(child))
                self.local.update(_bound(child))
            for part in (node.args, *node.body):
                self._read(part)

    def _resolve_path(self, path: list[str]) -> Any:
        obj: Any = self.module
        for name in path:
            obj = _attribute(obj, name)
            if obj is None:
                return None
        return obj

    def _resolve(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            if node.id in ("self", "cls") and self.owner is not None:
                return self.owner
            if node.id in self.imported:
                return self.imported[node.id]
            if node.id in self.local:
                return None  # a local variable, whatever the module calls by that name
            return getattr(self.module, node.id, None) if self.module else None
        if isinstance(node, ast.Attribute):
            value = self._resolve(node.value)
            return _attribute(value, node.attr) if value is not None else None
        return None

    def _read(self, node: ast.AST) -> None:
        self.codes.update(_codes_in(node))
        constants = _module_constants(self.module.__name__) if self.module else {}
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load) and child.id in constants:
                self.codes.update(_codes_in(constants[child.id]))
            if isinstance(child, (ast.Name, ast.Attribute)) and isinstance(child.ctx, ast.Load):
                obj = self._resolve(child)
                if obj is CATALOGUE:
                    continue
                if isinstance(obj, (str, dict, list, tuple, set, frozenset)):
                    self.codes.update(_codes_held(obj))  # a table of codes, wherever it is defined
                elif obj is not None:
                    self._follow(obj)
                elif isinstance(child, ast.Attribute):
                    self.refs.extend(_methods_by_name().get(child.attr, ()))
            if isinstance(child, ast.Call):
                cls = self._resolve(child.func)
                explicit = any(k.arg == "code" for k in child.keywords)
                if inspect.isclass(cls) and issubclass(cls, CrmError) and not explicit:
                    self.codes.add(cls.code)

    def _follow(self, obj: Any) -> None:
        if inspect.isclass(obj):
            if _ours(obj):
                init = vars(obj).get("__init__")
                if init is not None:
                    self.refs.append(init)
            return
        fn = _function(obj)
        if inspect.isfunction(fn) and _ours(fn):
            self.refs.append(fn)


def _bound(node: ast.AST) -> Iterator[str]:
    """The names a node binds in its function (a nested def's name, an argument, a target)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        yield node.id
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)) and node.name:
        yield node.name


def _imports(node: ast.Import | ast.ImportFrom) -> dict[str, Any]:
    """What an import statement inside a function binds (modules already loaded)."""
    bound: dict[str, Any] = {}
    for alias in node.names:
        if isinstance(node, ast.Import):
            top = alias.name if alias.asname else alias.name.split(".")[0]
            bound[alias.asname or top] = sys.modules.get(top)
        elif node.module and not node.level:
            module = sys.modules.get(node.module)
            value = sys.modules.get(f"{node.module}.{alias.name}") or getattr(module, alias.name, None)
            bound[alias.asname or alias.name] = value
    return bound


def _attribute(obj: Any, name: str) -> Any:
    """`obj.name` without running anything: from a module, a class of ours (statically), or
    an instance of one of our classes."""
    if isinstance(obj, types.ModuleType):
        return getattr(obj, name, None)
    if inspect.isclass(obj):
        if not _ours(obj):
            return None
        try:
            return inspect.getattr_static(obj, name)
        except AttributeError:
            return None
    if _ours(type(obj)):
        try:
            return inspect.getattr_static(obj, name)
        except AttributeError:
            return None
    return None


# the package's code a route's view may reach: imported whole before the first reading, so
# that what a name cannot resolve to (`_methods_by_name`) is the same whatever this process
# happened to import before (a fresh `make openapi`, or a test run that loaded the jobs)
_LOADED = ("chalicelib.api", "chalicelib.db", "chalicelib.domain", "chalicelib.jobs", "chalicelib.streams")


@cache
def _load_package() -> None:
    import importlib
    import pkgutil

    for name in _LOADED:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            importlib.import_module(info.name)


class Reach:
    """The codes reachable from functions, with each function read once."""

    def __init__(self) -> None:
        _load_package()
        self._units: dict[Any, _Unit] = {}

    def codes(self, *starts: Callable[..., Any] | None) -> set[str]:
        found: set[str] = set()
        seen: set[Any] = set()
        stack = [_function(s) for s in starts if s is not None]
        while stack:
            fn = stack.pop()
            if fn in seen or not (inspect.isfunction(fn) and _ours(fn)):
                continue
            seen.add(fn)
            unit = self._units.get(fn)
            if unit is None:
                unit = self._units[fn] = _Unit(fn)
            found |= unit.codes
            stack.extend(_function(r) for r in unit.refs)
        return found

"""The jinja2 sandbox that message templates run in: immutable and bounded.

Templates are written by school staff, and free text is a template too, so a template must
neither change what another render sees nor cost the container more than a message is
worth. On top of jinja2's ImmutableSandboxedEnvironment (no Python internals, no
`.update()` or `.clear()` of the data), every render has a budget:

- steps: loop iterations, calls and items drawn through a filter, MAX_STEPS in all
  (a `range` longer than that is refused at once; `{% for ... recursive %}` is refused);
- size: no text or list a template makes, and not the output, may pass the channel's limit
  (2,000 characters of an SMS, 200 KB of an e-mail): `*`, `+`, `~`, `%`, `join`,
  `replace` and padding are checked before they build anything; numbers stay under
  MAX_INT_BITS.

Going over raises TooCostly, which templates.render turns into a 400 TEMPLATE_TOO_COSTLY.
This module knows nothing of HTTP or storage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.filters import FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_STEPS = 1000
MAX_INT_BITS = 4096  # about 1,200 decimal digits: any count or sum a message needs
EACH = "bounded loop"  # internal filter names hold a space: no template can name them
JOINED = "bounded join"

# Filters that are linear in what they are given; the rest (format, indent, wordwrap,
# batch, slice, sum, pprint, tojson, urlize, xmlattr, random, ...) are not available.
KEPT_FILTERS = (
    *("abs", "attr", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first"),
    *("float", "groupby", "int", "items", "last", "length", "list", "lower", "map", "max", "min", "reject"),
    *("rejectattr", "reverse", "round", "select", "selectattr", "sort", "string", "title", "trim"),
    *("truncate", "unique", "upper", "wordcount"),
)
# str methods that build text out of proportion to their input, or format it
REFUSED_STR_METHODS = frozenset({"format", "format_map", "expandtabs", "translate", "maketrans"})
PADDING = frozenset({"center", "ljust", "rjust", "zfill"})
PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d*))?")


class TooCostly(Exception):
    """A render went over its budget; `limit` names the bound in words."""

    def __init__(self, what: str, limit: str):
        super().__init__(f"{what} (the limit is {limit})")
        self.what = what
        self.limit = limit


@dataclass
class Budget:
    size: int  # the most characters (or UTF-8 bytes, for e-mail) any value or the output may have
    unit: str = "characters"
    steps: int = 0

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > MAX_STEPS:
            raise TooCostly(f"more than {MAX_STEPS:,} steps (loop iterations and calls)", f"{MAX_STEPS:,} steps")

    def too_big(self, what: str) -> TooCostly:
        return TooCostly(f"{what} longer than {self.size:,} {self.unit}", f"{self.size:,} {self.unit}")

    def fits(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            _bits(value.bit_length())
        elif isinstance(value, str | bytes | list | tuple | dict | set | frozenset) and len(value) > self.size:
            raise self.too_big("a value")
        return value

    def room(self, length: int, what: str) -> None:
        if length > self.size:
            raise self.too_big(what)


def _bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TooCostly(f"a number of more than {MAX_INT_BITS} bits", f"{MAX_INT_BITS} bits")


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget(size: int, unit: str = "characters") -> Iterator[Budget]:
    """A fresh budget for one render."""
    fresh = Budget(size, unit)
    token = _budget.set(fresh)
    try:
        yield fresh
    finally:
        _budget.reset(token)


def _current() -> Budget:
    found = _budget.get()
    return Budget(2000) if found is None else found  # outside a render (never in the app): the smallest


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    spend = _current()
    for item in items:
        spend.step()
        yield item


def _joined(values: Any) -> str:
    texts = [str(v) for v in values]
    _current().room(sum(map(len, texts)), "text joined with ~")
    return "".join(texts)


def _check_replace(text: str, old: str, new: str, count: Any = -1) -> None:
    times = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    _current().room(len(text) + times * (len(new) - len(old)), "a replace")


def _replace(value: Any, old: Any, new: Any, count: Any = None) -> str:
    text, old, new = str(value), str(old), str(new)
    _check_replace(text, old, new, -1 if count is None else count)
    return text.replace(old, new, -1 if count is None else count)


def _join(value: Iterable[Any], d: str = "") -> str:
    texts = [str(v) for v in value]  # a list is within the size; a generator counts its own steps
    _current().room(sum(map(len, texts)) + len(d) * max(len(texts) - 1, 0), "a join")
    return str(d).join(texts)


def _check_printf(text: str) -> None:
    for match in PRINTF.finditer(text):
        for number in match.groups():
            if number == "*" or (number and int(number) > _current().size):
                raise _current().too_big("a % format width")


def _bounded(function: Any) -> Any:
    """A filter whose numeric arguments (widths, lengths) and result stay within the budget."""
    skip = 2 if getattr(function, "jinja_pass_arg", None) else 1

    def bounded(*args: Any, **kwargs: Any) -> Any:
        spend = _current()
        for arg in (*args[skip:], *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > spend.size:
                raise spend.too_big(f"a filter argument {arg}")
        result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return _counted(result)
        return spend.fits(result)

    bounded.__dict__.update(getattr(function, "__dict__", {}))  # keeps jinja's pass_context/... mark
    return bounded


class _Bounds(NodeTransformer):
    """Every for loop draws its items through the step count; `~` checks its length first."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not available in templates", node.lineno)
        node.iter = nodes.Filter(node.iter, EACH, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), JOINED, [], [], None, None, lineno=node.lineno)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
        self.filters = {name: _bounded(FILTERS[name]) for name in KEPT_FILTERS}
        self.filters |= {"replace": _bounded(_replace), "join": _bounded(_join), EACH: _counted, JOINED: _joined}
        self.globals["range"] = self._range

    @staticmethod
    def _range(*args: int) -> range:
        found = range(*args)
        if len(found) > MAX_STEPS:
            raise TooCostly(f"a range of more than {MAX_STEPS:,} numbers", f"{MAX_STEPS:,} steps")
        return found

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # jinja2's one hook between parsing and code generation (compile() and parse() both use it)
        # NodeTransformer.visit is typed Any; _Bounds has no visit_Template, so the root comes back as the Template
        return cast(nodes.Template, _Bounds().visit(super()._parse(source, name, filename)))

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format and format_map are refused (REFUSED_STR_METHODS), not sandboxed

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in REFUSED_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def concat(self, pieces: Iterable[str]) -> str:  # the output of blocks, macros and {% set %}...{% endset %}
        spend, kept, length = _current(), [], 0
        for piece in pieces:
            length += len(piece)
            spend.room(length, "a block's output")
            kept.append(piece)
        return "".join(kept)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        spend = _current()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and right > 0 and abs(left) > 1:
            _bits(left.bit_length() * right)
        elif operator == "*" and ints:
            _bits(left.bit_length() + right.bit_length())
        elif operator == "*":
            times, sequence = (left, right) if isinstance(left, int) else (right, left)
            if isinstance(times, int) and hasattr(sequence, "__len__"):
                spend.room(len(sequence) * times, "a repetition with *")
        elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
            spend.room(len(left) + len(right), "a sum with +")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return spend.fits(super().call_binop(context, operator, left, right))

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        spend = _current()
        spend.step()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(obj, "__name__", "")
            if name in PADDING and args and isinstance(args[0], int):
                spend.room(args[0], f"a {name}")
            elif name == "replace" and len(args) >= 2:
                _check_replace(owner, *args[:3])
            elif name == "join" and args:
                items = list(args[0])
                length = sum(len(i) for i in items if isinstance(i, str))
                spend.room(length + len(owner) * max(len(items) - 1, 0), "a join")
                args = (items, *args[1:])
        result = super().call(context, obj, *args, **kwargs)
        if isinstance(result, Iterator) and not isinstance(result, range):
            return _counted(result)
        return spend.fits(result)

    def render_bounded(self, source: str, context: dict[str, Any]) -> str:
        """The output of `source`, drawn piece by piece and stopped as soon as it is over the
        budget's size (so `{{ 'a' * huge }}`-like output is never assembled)."""
        spend, kept, length = _current(), [], 0
        for piece in self.from_string(source).generate(**context):
            length += len(piece.encode()) if spend.unit == "bytes" else len(piece)
            if length > spend.size:
                raise spend.too_big("the message")
            kept.append(piece)
        return "".join(kept)

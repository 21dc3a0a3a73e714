"""The one jinja2 environment of the HTML pages (sign-in sheets, reports, the printable
customer record). Templates live in chalicelib/templates/, which is deployed with the code.
Autoescaping is on, and it is jinja2's immutable sandbox: a page's template reaches no
Python internals and cannot change the data it is given (no `.append`, `.update`, ... on
lists and dicts), so nothing shared between requests can be changed by a render. The
templates are ours; school-written message templates have their own bounded sandbox
(chalicelib/domain/sandbox.py)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment():
    import jinja2  # lazy: only pages need it
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)

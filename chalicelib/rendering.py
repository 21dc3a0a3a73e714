"""The one jinja2 environment (HTML pages: sign-in sheets, later reports). Templates live
in chalicelib/templates/, which is deployed with the code. Autoescaping is on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment():
    import jinja2  # lazy: only pages need it

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)

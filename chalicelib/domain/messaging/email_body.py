"""An e-mail's two parts: HTML, and the same content as plain text, each with the school's
signature.

A template renders to text (the sandbox, templates.py). An e-mail carries that text twice:
as the plain-text alternative, verbatim, and as HTML, where every character of it is
escaped (a learner named `<b>x</b>` arrives as those characters, never as markup) and line
breaks become `<br>`, in one small layout that mail clients show alike. The signature is
plain text with line breaks (messaging settings `email_signature`), treated the same way.
No markup a school or a family typed ever reaches the HTML part unescaped. Pure functions.
"""

from __future__ import annotations

from html import escape

SIGNATURE_MARK = "-- "  # the usual plain-text signature separator (dash dash space)

_LAYOUT = (
    '<!DOCTYPE html><html><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
    '<body style="margin:0;padding:0;background:#f5f6f8">'
    '<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;color:#222222;'
    'font-family:-apple-system,Segoe UI,PingFang SC,Microsoft YaHei,sans-serif;font-size:15px;line-height:1.6">'
    '<div class="content">{content}</div>{signature}</div></body></html>'
)
_SIGNATURE = (
    '<div class="signature" style="margin-top:24px;padding-top:12px;border-top:1px solid #e4e7ed;'
    'color:#606266;font-size:13px">{signature}</div>'
)


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _as_html(text: str) -> str:
    return "<br>\n".join(escape(line, quote=True) for line in _lines(text))


def plain(text: str, signature: str) -> str:
    """The plain-text part: the text, then the signature under the usual separator."""
    body = "\n".join(_lines(text))
    if not signature.strip():
        return body
    return f"{body}\n\n{SIGNATURE_MARK}\n" + "\n".join(_lines(signature.strip("\r\n")))


def html(text: str, signature: str, subject: str | None = None) -> str:
    """The HTML part: the text and the signature escaped, line breaks kept, in the layout."""
    shown = _SIGNATURE.format(signature=_as_html(signature.strip("\r\n"))) if signature.strip() else ""
    return _LAYOUT.format(title=escape(subject or "", quote=True), content=_as_html(text), signature=shown)


def parts(text: str, signature: str, subject: str | None = None) -> tuple[str, str]:
    """(plain text, HTML) of one e-mail."""
    return plain(text, signature), html(text, signature, subject)

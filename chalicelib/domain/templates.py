"""Message templates (短信模板/邮件模板): checked when saved, rendered per recipient.

Templates are written by school staff, so they run in a bounded, immutable jinja2 sandbox
(chalicelib/domain/sandbox.py: no access to Python internals, no changing the data, a
budget of steps and of size) with StrictUndefined (a misspelt variable is an error, never
an empty hole in a parent's SMS). Each render gets its own copy of the data, so nothing
one render does is seen by the next. Saving a template renders it against sample data, so
every mistake is found then, with a 400 that names it, not at 9 o'clock on a birthday.
"""

from __future__ import annotations

import copy
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.db import messaging as messaging_db
from chalicelib.db.messaging_records import TemplateData, TemplateRecord
from chalicelib.domain import clock, ids
from chalicelib.errors import NotFoundError, ValidationFailedError
from chalicelib.messaging.segments import segments
from chalicelib.schemas.messaging import (
    Template,
    TemplatePreview,
    TemplatePreviewRequest,
    TemplateRequest,
    TemplateVariable,
    TemplateVariables,
)

if TYPE_CHECKING:
    from chalicelib.domain.sandbox import BoundedSandbox

MAX_SMS = 2000  # characters
MAX_EMAIL = 200 * 1024  # UTF-8 bytes
LIMITS = {"sms": (MAX_SMS, "characters"), "email": (MAX_EMAIL, "bytes")}

# What a template may use. Every message fills the ones it has; sample data shows all.
# Private: a render only ever sees a deep copy (sample()), never this dict.
_SAMPLE: dict[str, Any] = {
    "learner": {"name": "王小明", "nickname": "明明", "birthday": "2021-05-03", "age": 5, "school": "", "grade": ""},
    "guardian": {"name": "王妈妈", "relation": "mother"},
    "consultant": {"name": "李娜", "phone": "13800138000"},
    "campus": {"name": "南山校区", "address": "深圳市南山区科技园", "phone": "0755-12345678"},
    "school": {"name": "小星星早教中心"},
    "appointment": {"kind": "trial", "title": "亲子早教 A", "date": "2026-12-01", "time": "10:00", "weekday": "周二"},
    "card": {"number": "8800012345", "credits": "3.00", "cash": "120.00", "expires_on": "2027-06-30"},
    "holiday": {"name": "春节"},
    "work": {"contacts": 5, "overdue": 2, "plans": 3, "visits": 1, "trials": 2, "events": 0},
    "receivable": {
        "title": "合同 2/3",
        "amount": "3200.00",
        "outstanding": "3200.00",
        "due_on": "2026-12-05",
        "days_overdue": 0,
        "payer": "张爷爷",
    },
    "today": "2026-12-01",
}
VARIABLES = tuple(sorted(_SAMPLE))


def sample() -> dict[str, Any]:
    """The sample data, afresh."""
    return copy.deepcopy(_SAMPLE)


@lru_cache(maxsize=1)
def _environment() -> BoundedSandbox:
    """The one sandbox, made where a template is first checked or rendered: jinja2 (and the
    sandbox on it) is loaded then, not by every function that imports this module."""
    from chalicelib.domain import sandbox

    return sandbox.BoundedSandbox()


def _invalid(field: str, message: str, zh: str) -> ValidationFailedError:
    """A 400 naming the field and the problem; `zh` the problem in Chinese (the message's reason)."""
    return ValidationFailedError(
        f"{field}: {message}", details=[{"field": field, "message": message}], params={"reason": zh}
    )


def check(text: str, field: str = "body", channel: str = "sms") -> list[str]:
    """The variables a template uses; a 400 naming the problem if it is not sound."""
    from jinja2 import TemplateSyntaxError, meta

    try:  # (an unknown filter is found while the variables are looked for)
        used = meta.find_undeclared_variables(_environment().parse(text))
    except TemplateSyntaxError as exc:
        raise _invalid(
            field, f"line {exc.lineno}: {exc.message}", f"第 {exc.lineno} 行语法错误：{exc.message}"
        ) from exc
    unknown = sorted(used - set(VARIABLES))
    if unknown:
        names, offered_ = ", ".join(unknown), ", ".join(VARIABLES)
        raise _invalid(field, f"unknown variable {names}; use {offered_}", f"未知变量 {names}；可用 {offered_}")
    render(text, sample(), field=field, channel=channel)
    return sorted(used)


def render(text: str, context: dict[str, Any], field: str = "body", channel: str = "sms") -> str:
    """`text` filled from a copy of `context`, within the channel's budget (sandbox.py)."""
    from jinja2 import TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    from chalicelib.domain import sandbox

    size, unit = LIMITS[channel]
    env = _environment()
    try:
        with sandbox.budget(size, unit):
            out = env.render_bounded(text, copy.deepcopy(context))
    except sandbox.TooCostly as exc:
        raise ValidationFailedError(
            f"{field}: too costly to render: {exc.what} (the limit is {exc.limit})",
            code="TEMPLATE_TOO_COSTLY",
            details=[{"field": field, "message": f"too costly: {exc.what}", "limit": exc.limit}],
        ) from exc
    except UndefinedError as exc:
        raise _invalid(
            field, f"{exc.message} (not a field of the data a message has)", f"{exc.message}（消息数据中没有此字段）"
        ) from exc
    except SecurityError as exc:
        raise _invalid(field, f"unsafe construct refused: {exc}", f"不安全的写法，已拒绝：{exc}") from exc
    except TemplateSyntaxError as exc:
        raise _invalid(
            field, f"line {exc.lineno}: {exc.message}", f"第 {exc.lineno} 行语法错误：{exc.message}"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any other failure of user code is a bad template
        raise _invalid(field, f"cannot be rendered: {exc}", f"无法生成：{exc}") from exc
    return out


def offered() -> TemplateVariables:
    """Every field a template may use, in the order of the sample data, with its sample value."""
    items = []
    for name, value in _SAMPLE.items():
        fields = value.items() if isinstance(value, dict) else [(None, value)]
        items += [
            TemplateVariable(path=f"{name}.{field}" if field else name, variable=name, sample=str(v))
            for field, v in fields
        ]
    return TemplateVariables(items=items)


def preview(request: TemplatePreviewRequest) -> TemplatePreview:
    """A template (or a message's free text) rendered on the sample data, exactly as it
    would be saved or sent: the same sandbox, budget and checks; any problem is the same 400."""
    variables = check(request.body, channel=request.channel)
    text = render(request.body, sample(), channel=request.channel)
    subject = None
    if request.subject:
        check(request.subject, "subject", request.channel)
        subject = render(request.subject, sample(), field="subject", channel=request.channel)
    return TemplatePreview(
        text=text,
        subject=subject,
        segments=segments(text) if request.channel == "sms" else 0,
        characters=len(text),
        variables=variables,
    )


def _out(data: TemplateRecord | TemplateData) -> Template:
    sms = data["channel"] == "sms"
    try:
        variables = check(data["body"], channel=data["channel"])
        shown = render(data["body"], sample(), channel=data["channel"])
    except ValidationFailedError as exc:  # saved under older rules: listed, shown why, fixed by a PUT
        variables, shown, sms = [], f"cannot render: {exc.message}", False
    return Template(
        **{k: v for k, v in data.items() if k != "template_kind"},
        kind=data["template_kind"],
        variables=variables,
        sample=shown,
        segments=segments(shown) if sms else 0,
    )


def _data(request: TemplateRequest, template_id: str, created_at: str) -> TemplateData:
    check(request.body, channel=request.channel)
    if request.subject:
        check(request.subject, "subject", request.channel)
    if request.channel == "email" and not request.subject:
        raise _invalid("subject", "an e-mail template needs a subject", "邮件模板需要标题")
    return {
        "id": template_id,
        "name": request.name,
        "channel": request.channel,
        "template_kind": request.kind,
        "subject": request.subject,
        "body": request.body,
        "created_at": created_at,
        "updated_at": clock.iso(clock.now()),
    }


def create(tenant: str, request: TemplateRequest) -> Template:
    data = _data(request, ids.new_id(), clock.iso(clock.now()))
    messaging_db.put_template(tenant, data, new=True)
    return _out(data)


def replace(tenant: str, template_id: str, request: TemplateRequest) -> Template:
    current = get_data(tenant, template_id)
    data = _data(request, template_id, current["created_at"])
    if not messaging_db.put_template(tenant, data, new=False):
        raise NotFoundError("No such template.", code="TEMPLATE_NOT_FOUND")
    return _out(data)


def get_data(tenant: str, template_id: str) -> TemplateRecord:
    data = messaging_db.get_template(tenant, template_id)
    if data is None:
        raise NotFoundError("No such template.", code="TEMPLATE_NOT_FOUND")
    return data


def get(tenant: str, template_id: str) -> Template:
    return _out(get_data(tenant, template_id))


def list_all(tenant: str) -> list[Template]:
    return [_out(t) for t in sorted(messaging_db.list_templates(tenant), key=lambda t: t["name"])]


def delete(tenant: str, template_id: str) -> None:
    get_data(tenant, template_id)
    messaging_db.delete_template(tenant, template_id)


def age_on(birthday: str | None, day: date) -> int | None:
    if not birthday:
        return None
    born = date.fromisoformat(birthday)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

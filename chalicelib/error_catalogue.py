"""Every error code the API answers, with its HTTP status and its message in English and Chinese.

The one catalogue keyed by code: the envelope's `message` in Chinese comes from here (the
raise site's own English message is kept in English), `docs/errors.md` is generated from it
(`python -m chalicelib.cli errors-doc`), and a test walks the source so that a code raised
anywhere is in it. Codes never change with the language.

Templates are plain text with `{name}` placeholders (values from the error's `params` and
its first `details` entry, str()-ed) and optional segments in square brackets: `[，负责顾问
{owner_name}]` is dropped whole when a placeholder inside it has no value. A placeholder
outside a segment with no value makes the message fall back to the status's generic one:
formatting never raises. No attribute access, indexing or format specs: only `{name}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("en", "zh")
CONTENT_LANGUAGE = {"en": "en", "zh": "zh-CN"}


@dataclass(frozen=True)
class Entry:
    status: int  # the main HTTP status this code is answered with
    en: str
    zh: str
    statuses: tuple[int, ...] = ()  # other statuses it is also answered with

    def all_statuses(self) -> tuple[int, ...]:
        return (self.status, *(s for s in self.statuses if s != self.status))


def _e(status: int, en: str, zh: str, *also: int) -> Entry:
    return Entry(status, en, zh, tuple(also))


CATALOGUE: dict[str, Entry] = {
    # -- the generic codes (the classes of chalicelib/errors.py) --
    "VALIDATION_FAILED": _e(400, "Invalid input[: {field}][: {message}].", "输入有误[：{field}][（{reason}）]"),
    "UNAUTHORIZED": _e(401, "Sign in first.", "请先登录"),
    "FORBIDDEN": _e(403, "You may not do this.", "没有权限执行此操作"),
    "NOT_FOUND": _e(404, "Not found.", "找不到该记录"),
    "CONFLICT": _e(409, "This conflicts with the current data; nothing was changed.", "与现有数据冲突，未做任何修改"),
    "BUSY": _e(
        409,
        "The records are busy right now; nothing was changed. Try again.",
        "数据正忙，未做任何修改，请稍后重试",
    ),
    "ACCOUNT_FROZEN": _e(
        423, "This account is frozen; an administrator can unfreeze it.", "账号已被冻结，请联系管理员解冻"
    ),
    "THROTTLED": _e(429, "Too many requests; try again later.", "请求过于频繁，请稍后再试"),
    "INTERNAL": _e(500, "Something went wrong on our side; it was logged.", "系统出错了，已记录，请稍后再试"),
    # -- answers before a view runs (app.py, routing.py, the local server, the gateway) --
    "ROUTE_NOT_FOUND": _e(404, "No such route.", "没有这个接口地址", 403),
    "METHOD_NOT_ALLOWED": _e(405, "This path does not take that method.", "此地址不支持该请求方法"),
    "NOT_ACCEPTABLE": _e(
        406,
        "This route answers with a file: send Accept: */* or the file's type.",
        "此接口返回文件：请发送 Accept: */* 或该文件类型",
    ),
    "UNSUPPORTED_MEDIA_TYPE": _e(
        415, "This route does not take a body of that Content-Type.", "此接口不接受该 Content-Type 的内容"
    ),
    "GATEWAY_ERROR": _e(502, "Refused by the gateway.", "网关拒绝了该请求"),
    "MALFORMED_JSON": _e(400, "The request body is not valid JSON.", "请求内容不是有效的 JSON"),
    # -- sign-in, tokens, keys, limits --
    "TOKEN_MISSING": _e(401, "Sign in first: send `Authorization: Bearer <token>`.", "请先登录"),
    "TOKEN_EXPIRED": _e(401, "The sign-in has expired; sign in again.", "登录已过期，请重新登录"),
    "TOKEN_INVALID": _e(401, "The token is not valid; sign in again.", "登录凭证无效，请重新登录"),
    "TOKEN_REVOKED": _e(401, "This sign-in was ended; sign in again.", "登录已失效，请重新登录"),
    "INVALID_CREDENTIALS": _e(401, "Wrong school, username or password.", "学校、用户名或密码不正确"),
    "ACCOUNT_DISABLED": _e(401, "This account is disabled.", "此账号已停用"),
    "LOGIN_LOCKED": _e(
        429, "Too many failed sign-ins; try again later.", "登录失败次数过多，请稍后再试[（约 {minutes} 分钟）]"
    ),
    "LOGIN_THROTTLED": _e(429, "Many failed sign-ins; wait a moment before trying again.", "登录失败较多，请稍等再试"),
    "RATE_LIMITED": _e(429, "Too many requests; try again in a minute.", "请求过于频繁，请一分钟后再试"),
    "READ_LIMIT_REACHED": _e(
        423,
        "You have read as many customer records as your school allows for now.",
        "已达到学校允许的客户资料查看上限，账号暂被冻结，请联系管理员",
    ),
    "EXPORT_OVER_READ_LIMIT": _e(
        423,
        "This export holds more customer records than you may read now.",
        "导出的客户数量超过您当前可查看的上限，请缩小筛选范围或联系管理员",
    ),
    "API_KEY_REQUIRED": _e(401, "Send the website's API key in X-Api-Key.", "请在 X-Api-Key 中提供网站的 API 密钥"),
    "API_KEY_INVALID": _e(401, "The API key is not valid.", "API 密钥无效"),
    "API_KEY_NOT_FOUND": _e(404, "No such API key.", "找不到该 API 密钥"),
    "ORIGIN_FORBIDDEN": _e(403, "This website may not call the API from that origin.", "该网站来源不允许调用接口"),
    "IDEMPOTENCY_KEY_REUSED": _e(
        409, "This Idempotency-Key was used for a different request.", "该 Idempotency-Key 已用于另一个请求"
    ),
    # -- access --
    "ROLE_FORBIDDEN": _e(403, "Your role may not do this.", "您的角色无权执行此操作"),
    "NOT_YOUR_TEAM": _e(403, "This is not a lead of your team.", "这不是您团队的客户"),
    "NOT_YOUR_CAMPUS": _e(403, "This belongs to another campus.", "这属于其他校区"),
    "EXPORT_FORBIDDEN": _e(403, "You may not export these records.", "您无权导出这些记录"),
    "IMPORT_FORBIDDEN": _e(403, "You may not see this import.", "您无权查看此导入"),
    "CANNOT_CHANGE_SELF": _e(409, "You cannot change this on your own account.", "不能修改自己账号的此项设置"),
    # -- not found --
    "LEAD_NOT_FOUND": _e(404, "No such lead.", "找不到该客户"),
    "USER_NOT_FOUND": _e(404, "No such user.", "找不到该用户"),
    "CAMPUS_NOT_FOUND": _e(404, "No such campus.", "找不到该校区"),
    "PLAN_NOT_FOUND": _e(404, "No such plan.", "找不到该跟进计划"),
    "APPOINTMENT_NOT_FOUND": _e(404, "No such appointment.", "找不到该预约"),
    "CLASS_NOT_FOUND": _e(404, "No such class.", "找不到该课程"),
    "SESSION_NOT_FOUND": _e(404, "No such session.", "找不到该课节"),
    "EVENT_NOT_FOUND": _e(404, "No such event.", "找不到该活动"),
    "CONTRACT_NOT_FOUND": _e(404, "No such contract.", "找不到该合同"),
    "CARD_NOT_FOUND": _e(404, "No such card.", "找不到该卡"),
    "PROGRAMME_NOT_FOUND": _e(404, "No such programme.", "找不到该项目"),
    "COHORT_NOT_FOUND": _e(404, "No such cohort.", "找不到该期次"),
    "ENROLMENT_NOT_FOUND": _e(404, "No such enrolment.", "找不到该报名"),
    "ANNOUNCEMENT_NOT_FOUND": _e(404, "No such announcement.", "找不到该公告"),
    "ATTACHMENT_NOT_FOUND": _e(404, "No such attachment.", "找不到该附件"),
    "PHRASE_NOT_FOUND": _e(404, "No such phrase.", "找不到该常用语"),
    "MESSAGE_NOT_FOUND": _e(404, "No such message.", "找不到该消息"),
    "TEMPLATE_NOT_FOUND": _e(404, "No such template.", "找不到该模板"),
    "IMPORT_NOT_FOUND": _e(404, "No such import.", "找不到该导入任务"),
    "OFFBOARDING_NOT_FOUND": _e(404, "This user was never offboarded.", "该员工没有离职交接记录"),
    "NO_ERROR_SHEET": _e(404, "This import has no sheet of rejected rows.", "此导入没有被拒行的清单"),
    # -- leads --
    "DUPLICATE_PHONE": _e(
        409,
        "The phone {phone} already belongs to another lead.",
        "电话 {phone} 已属于本校的另一位客户[「{name}」][，负责顾问：{owner_name}][，可询问 {ask_name}]",
    ),
    "OWNER_CAP_REACHED": _e(
        409, "That consultant already holds the most leads the school allows.", "该顾问名下客户数已达学校上限"
    ),
    "EDIT_CONFLICT": _e(
        409,
        "The record changed while you were editing it; reload and try again.",
        "记录在您编辑时已被他人修改，请刷新后重试[（{field}）]",
    ),
    "LEAD_DELETED": _e(409, "This lead is in the recycle bin.", "该客户已在回收站中"),
    "LEAD_ERASED": _e(
        409, "This lead's personal data was erased; it cannot be restored.", "该客户的个人信息已抹除，无法恢复"
    ),
    "NOT_IN_POOL": _e(409, "This lead is no longer in the public pool.", "该客户已不在公海中"),
    "ALREADY_IN_FAMILY": _e(409, "This lead is already in that family.", "该客户已在这个家庭中"),
    "PLAN_CLOSED": _e(409, "The plan was closed or handed over meanwhile.", "该跟进计划已完成或已转交他人"),
    # -- schedule --
    "ATTENDANCE_NOT_OPEN": _e(
        409, "Attendance cannot be marked yet[: from {opens_at} on].", "还不能登记到课[：{opens_at} 起可登记]"
    ),
    "ALREADY_BOOKED": _e(409, "This lead is already booked here.", "该客户已预约过"),
    "ALREADY_CHECKED_IN": _e(409, "This learner is already booked or checked in here.", "该学员已预约或已签到"),
    "SESSION_FULL": _e(409, "No seats left in this session.", "该课节已满，没有空位"),
    "SESSION_CONFLICT": _e(409, "This clashes with another session.", "与其他课节时间冲突"),
    "SESSION_CANCELLED": _e(409, "This session was cancelled.", "该课节已取消"),
    "NOT_BOOKABLE": _e(409, "This cannot be booked.", "该项目不能预约"),
    "NOT_BOOKED": _e(409, "This is not booked.", "尚未预约"),
    "EVENT_NOT_BOOKED": _e(409, "The booking is gone.", "该活动预约已不存在"),
    "EVENT_FEE_ALREADY_CHARGED": _e(409, "This booking's event fee was charged already.", "该预约的活动费用已扣过"),
    # -- contracts and cards --
    "CONTRACT_CLOSED": _e(409, "This contract is closed.", "该合同已关闭"),
    "CONTRACT_IN_USE": _e(409, "This contract is in use.", "该合同正在使用中"),
    "OVERPAYMENT": _e(409, "This pays more than is owed.", "付款金额超过应付金额"),
    "REFUND_TOO_LARGE": _e(409, "The refund is larger than what can be refunded.", "退款金额超过可退金额"),
    "INSUFFICIENT_BALANCE": _e(409, "Not enough balance.", "余额不足"),
    "CARD_CONFLICT": _e(
        409, "The card changed meanwhile; reload it and try again.", "卡的信息已被他人修改，请刷新后重试"
    ),
    "CARD_BUSY": _e(409, "The card is busy; try again.", "该卡正忙，请稍后重试"),
    "CARD_LOST": _e(409, "This card is reported lost.", "该卡已挂失"),
    "CARD_FROZEN": _e(409, "This card is frozen.", "该卡已冻结"),
    "CARD_REPLACED": _e(409, "This card was replaced.", "该卡已被换卡"),
    "CARD_NUMBER_TAKEN": _e(409, "That card number is taken.", "该卡号已被使用"),
    "NOT_FROZEN": _e(409, "This card is not frozen.", "该卡未冻结"),
    "NO_CARD": _e(409, "No card can pay for this.", "没有可用于支付的卡"),
    "SHARED_CARD": _e(409, "This card is shared.", "该卡为共享卡"),
    "NOT_A_PRIMARY_CARD": _e(409, "This is not a primary card.", "该卡不是主卡"),
    "TOO_MANY_SUB_CARDS": _e(409, "This card has the most sub-cards allowed.", "该卡的副卡数量已达上限"),
    "EXCHANGE_DISABLED": _e(409, "The school does not allow this exchange.", "学校未开启此兑换"),
    "LEARNER_NOT_ON_CARD": _e(400, "This learner may not use this card.", "该学员不能使用这张卡"),
    # -- programmes --
    "PROGRAMME_INACTIVE": _e(409, "This programme is not active.", "该项目未启用"),
    "COHORT_NOT_OPEN": _e(409, "This cohort is not open for enrolment.", "该期次未开放报名", 400),
    "COHORT_FULL": _e(409, "This cohort is full.", "该期次已满"),
    "COHORT_CANCELLED": _e(409, "This cohort was cancelled.", "该期次已取消"),
    "ALREADY_ENROLLED": _e(409, "Already enrolled.", "已报名"),
    "ENROLMENT_DECIDED": _e(409, "This enrolment was decided already.", "该报名已处理"),
    "ENROLMENT_NOT_CONFIRMED": _e(409, "Only a confirmed enrolment takes payments.", "报名确认后才能收款"),
    "SEATS_BELOW_CONFIRMED": _e(409, "Seats cannot go below the confirmed enrolments.", "名额不能少于已确认的报名数"),
    # -- school settings, users, tenants --
    "VALUE_IN_USE": _e(
        409, "Values in use cannot be deleted; set them retired instead.", "正在使用的选项不能删除，请改为停用"
    ),
    "DICTIONARY_NOT_FOUND": _e(404, "The school has no such list.", "学校没有这个列表"),
    "USERNAME_TAKEN": _e(409, "That username is taken.", "该用户名已被使用"),
    "OFFBOARDING_RUNNING": _e(
        409, "This user's handover is still going on; wait for it to finish.", "该员工的离职交接仍在进行，请等待完成"
    ),
    "OFFBOARDING_TAKEN": _e(409, "Another run took this handover over.", "离职交接已由另一次运行接手"),
    "TENANT_EXISTS": _e(409, "That school exists already.", "该学校已存在"),
    # -- files, imports, board, templates, website --
    "UNREADABLE_FILE": _e(400, "The file cannot be read.", "无法读取该文件"),
    "FILE_MISSING": _e(400, "The file is missing.", "缺少文件"),
    "MISSING_COLUMNS": _e(400, "The header row lacks required columns.", "表头缺少必填列，请从导入模板开始"),
    "TOO_MANY_ROWS": _e(400, "The file has too many rows.", "文件行数过多，请分批导入"),
    "OWNER_UNAVAILABLE": _e(
        400, "The consultant chosen for this import can no longer take leads.", "所选顾问已不能接收客户，请重新导入"
    ),
    "ATTACHMENT_NOT_UPLOADED": _e(400, "The attachment was not uploaded.", "附件尚未上传"),
    "ATTACHMENT_TOO_LARGE": _e(400, "The attachment is too large.", "附件过大"),
    "TEMPLATE_TOO_COSTLY": _e(400, "The template is too costly to render.", "模板过于复杂，无法生成[：{field}]"),
    "CONSENT_REQUIRED": _e(400, "Consent is required.", "需要勾选同意条款"),
    "TRY_AGAIN": _e(409, "Try again.", "请重试"),
}

# a status's generic message: when a code is unknown or its template lacks a value
_GENERIC = {
    400: "VALIDATION_FAILED",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    423: "ACCOUNT_FROZEN",
    429: "THROTTLED",
}


def codes_for_status(status: int) -> list[str]:
    """The codes answered with `status`, sorted."""
    return sorted(code for code, entry in CATALOGUE.items() if status in entry.all_statuses())


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


class _Missing(Exception):
    pass


def _fill(text: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None or value == "":
            raise _Missing(match.group(1))
        return value

    return _PLACEHOLDER.sub(one, text)


def render(template: str, params: Mapping[str, Any]) -> str | None:
    """The template with its `{name}`s filled: an optional `[...]` segment is dropped when a
    value in it is missing; None when a value outside any segment is missing."""
    values = {str(k): str(v) for k, v in params.items() if v is not None and not isinstance(v, (dict, list, tuple))}

    def segment(match: re.Match[str]) -> str:
        try:
            return _fill(match.group(1), values)
        except _Missing:
            return ""

    try:
        return _fill(_OPTIONAL.sub(segment, template), values)
    except _Missing:
        return None


def message(code: str, lang: str, params: Mapping[str, Any]) -> str | None:
    """The catalogue's message for `code` in `lang` ("en" or "zh"), filled from `params`;
    None for a code not in the catalogue. Never raises for a missing value."""
    entry = CATALOGUE.get(code)
    if entry is None:
        return None
    lang = lang if lang in LANGUAGES else "en"
    text = render(getattr(entry, lang), params)
    if text is not None:
        return text
    generic = CATALOGUE[_GENERIC.get(entry.status, "INTERNAL")]
    return render(getattr(generic, lang), {}) or ""


_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$|^\*$")


def language(accept_language: str | None) -> str:
    """ "zh" or "en" from an Accept-Language header: the highest q-value among the languages
    we answer in (zh, zh-CN, zh-Hans-*... -> zh; en-* -> en); none, unknown or malformed -> en.
    Of equal q-values the first listed wins."""
    best, best_q = "en", 0.0
    for part in (accept_language or "")[:500].split(","):
        tag, _, rest = part.strip().partition(";")
        tag = tag.strip().lower()
        if not _TAG.match(tag):
            continue
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0:
            continue
        primary = tag.split("-", 1)[0]
        lang = primary if primary in LANGUAGES else None
        if lang and q > best_q:
            best, best_q = lang, q
    return best


# why a field was refused (pydantic's error types and ours), for the Chinese `{reason}`
REASONS_ZH = {
    "missing": "必填",
    "extra_forbidden": "不接受此字段",
    "duplicate_parameter": "只能提供一次",
    "string_too_long": "太长",
    "string_too_short": "太短",
    "too_long": "项目过多",
    "too_short": "项目太少",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "不是可选的值",
    "enum": "不是可选的值",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "decimal_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_parsing": "日期格式不正确",
    "date_from_datetime_parsing": "日期格式不正确",
    "datetime_parsing": "时间格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "timezone_aware": "时间需带时区",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "value_error": "值无效",
    "json_invalid": "不是有效的 JSON",
}


def localized(code: str, english: str, lang: str, params: Mapping[str, Any], status: int = 500) -> str:
    """The envelope's message: in English the raise site's own message (the catalogue's when it
    gave none); in Chinese the catalogue's, filled from the error's values (a code not in the
    catalogue: its status's generic message)."""
    if lang == "zh":
        values = dict(params)
        if "reason" not in values and values.get("type") in REASONS_ZH:
            values["reason"] = REASONS_ZH[values["type"]]
        text = message(code, "zh", values) or message(_GENERIC.get(status, "INTERNAL"), "zh", values)
        if text:
            return text
    return english or message(code, "en", params) or ""


DOC_HEADER = """# Error codes

Generated from `chalicelib/error_catalogue.py` by `python -m chalicelib.cli errors-doc > docs/errors.md`;
do not edit by hand (a test fails when this file and the catalogue differ).

Every error is `{"error": {"code", "message", "details"}}`. The language of `message` follows the
request's `Accept-Language`: `zh`, `zh-CN`, `zh-Hans-*` (any `zh*`) answer in Chinese, `en*` in English,
q-values honoured (`en;q=0.5, zh;q=0.9` is Chinese); no header, or none of those, is English. The
answer says which in `Content-Language` (`zh-CN` or `en`).

- `code` never changes with the language: clients branch on it, never on `message`.
- `details` never changes either: its `field` names are the API's English field names.
- In English the message is the one the API wrote for this case (often more specific than the
  table); in Chinese it is the table's, filled with values from the error's first `details`
  entry (`{phone}`, `{opens_at}`, ...). A part in `[...]` is left out when its value is absent.
- A code answered with more than one status lists them all; the first is the usual one.

| Code | HTTP status | English | 中文 |
|---|---|---|---|
"""


def markdown() -> str:
    """docs/errors.md: the rule, then every code (by status, then code) in both languages."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    rows = sorted(CATALOGUE.items(), key=lambda item: (item[1].status, item[0]))
    lines = [
        f"| `{code}` | {', '.join(str(s) for s in entry.all_statuses())} | {cell(entry.en)} | {cell(entry.zh)} |"
        for code, entry in rows
    ]
    return DOC_HEADER + "\n".join(lines) + "\n"

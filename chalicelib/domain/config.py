"""A tenant's configuration: dictionaries (基础配置), lead settings, the assessment.

Read with one Query, at most once per RECENT_SECONDS per container (the rules of a write
check against what this container read lately; the settings routes and every settings
change read it as it is now); missing pieces fall back to the defaults below.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from chalicelib.db import config as config_db
from chalicelib.domain import clock
from chalicelib.errors import ConflictError, NotFoundError, ValidationFailedError
from chalicelib.schemas.common import MAX_DAY, MIN_DAY, control_character
from chalicelib.schemas.settings import (
    CUSTOM_NAME_PATTERN,
    CUSTOM_NUMBER_MAX,
    CUSTOM_TEXT_MAX,
    MAX_CUSTOM_LISTS,
    AssessmentConfig,
    CardSettings,
    CardSettingsPatch,
    Dictionary,
    DictionaryEntry,
    DictionaryKind,
    DictionaryList,
    DictionaryPutRequest,
    LeadFieldDefinition,
    LeadFields,
    LeadFieldsPutRequest,
    LeadSettings,
    LeadSettingsPatch,
    SecuritySettings,
    SecuritySettingsPatch,
)

if TYPE_CHECKING:  # imported where used: the stream's freeze check reads only `security`
    from chalicelib.schemas.messaging import MessagingSettings, MessagingSettingsPatch


# How long a container trusts what it read of a user (the caller's account: domain/auth.py), a
# tenant (domain/tenants.py) or a tenant's configuration (here) before reading it again. A
# change made in this container is seen at once (the write forgets what was read); a change
# made in another container (another Lambda, the stream function, the console) at most this
# late. docs/security.md says which changes are which.
RECENT_SECONDS = 30


def _entries(*pairs: tuple[str, str]) -> list[DictionaryEntry]:
    return [DictionaryEntry(key=k, label=v) for k, v in pairs]


DEFAULTS: dict[DictionaryKind, list[DictionaryEntry]] = {
    DictionaryKind.statuses: _entries(
        ("potential", "潜在"),
        ("intent", "意向"),
        ("quasi", "准客户"),
        ("signed", "已签约"),
        ("lost", "流失"),
        ("blacklist", "黑名单"),
    ),
    DictionaryKind.sources: _entries(
        ("walk_in", "上门"),
        ("phone", "电话咨询"),
        ("website", "官网"),
        ("referral", "转介绍"),
        ("event", "活动"),
        ("ad", "广告"),
    ),
    DictionaryKind.importance: _entries(("high", "重要"), ("normal", "一般"), ("low", "低")),
    DictionaryKind.stages: _entries(
        ("new", "初次接触"),
        ("contacted", "已联系"),
        ("visited", "已到访"),
        ("trial", "已试听"),
        ("negotiating", "商谈中"),
    ),
    DictionaryKind.follow_up_methods: _entries(
        ("phone", "电话"),
        ("sms", "短信"),
        ("email", "邮件"),
        ("wechat", "微信"),
        ("qq", "QQ"),
        ("visit", "面谈"),
        # teachers' classes (issue 19): the talk before a learner's first class, and a learner leaving
        ("pre_class", "课前沟通"),
        ("drop_out", "退课"),
    ),
    # the glossary's categories (常用语分类, issue 19 part 8): phrases are filed under one
    DictionaryKind.glossary_categories: _entries(
        ("invitation", "电话邀约"),
        ("course_intro", "课程介绍"),
        ("pricing", "价格"),
        ("objections", "异议处理"),
        ("faq", "常见问题"),
        ("aftercare", "售后回访"),
        ("other", "其他"),
    ),
}

# What a lead in a status may be sent (statuses' `contact`) when the entry does not say.
DO_NOT_CONTACT_STATUSES = frozenset({"blacklist"})


def default_contact(key: str) -> str:
    return "none" if key in DO_NOT_CONTACT_STATUSES else "all"


def _with_contact(kind: str, entries: list[DictionaryEntry]) -> list[DictionaryEntry]:
    """Status entries with their `contact` filled in (stored lists from before it read as the defaults)."""
    if kind is not DictionaryKind.statuses:
        return entries
    return [e if e.contact else e.model_copy(update={"contact": default_contact(e.key)}) for e in entries]


# Lead fields checked against a dictionary.
LEAD_FIELDS: dict[str, DictionaryKind] = {
    "status": DictionaryKind.statuses,
    "source": DictionaryKind.sources,
    "sub_source": DictionaryKind.sources,
    "importance": DictionaryKind.importance,
    "stage": DictionaryKind.stages,
}


BUILT_IN_KINDS = frozenset(k.value for k in DictionaryKind)
_CUSTOM_NAME = re.compile(CUSTOM_NAME_PATTERN)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class TenantConfig:
    # the six built-in lists (by DictionaryKind, a str) and the school's own (by name)
    dictionaries: dict[str, Dictionary]
    lead_settings: LeadSettings
    assessment: AssessmentConfig
    card_settings: CardSettings
    messaging: MessagingSettings
    security: SecuritySettings
    lead_fields: list[LeadFieldDefinition] = field(default_factory=list)  # the school's own lead fields
    lead_fields_used: frozenset[str] = frozenset()  # their keys some lead has a value for

    def entry(self, kind: str, key: str) -> DictionaryEntry | None:
        return next((e for e in self.dictionaries[kind].entries if e.key == key), None)

    def lead_field(self, key: str) -> LeadFieldDefinition | None:
        return next((f for f in self.lead_fields if f.key == key), None)

    def contact(self, status: str | None) -> str:
        """What a lead in this status may be sent: all, transactional or none."""
        entry = self.entry(DictionaryKind.statuses, status or "")
        return entry.contact if entry is not None and entry.contact else default_contact(status or "")


def load(tenant: str, *, fresh: bool = False) -> TenantConfig:
    """The configuration as this container read it in the last RECENT_SECONDS (its own changes
    included), or, `fresh`, as it is now (the settings routes, and the read before a change,
    so that a PATCH never writes back a section another container changed meanwhile)."""
    from chalicelib.schemas.messaging import MessagingSettings

    if fresh:
        raw = config_db.load_all(tenant)
    else:
        raw = config_db.recent(tenant, now=clock.now().timestamp(), within=RECENT_SECONDS)
    dictionaries: dict[str, Dictionary] = {}
    for kind in DictionaryKind:
        body, used = raw.dictionaries.get(kind.value, (None, set()))
        entries = [DictionaryEntry(**e) for e in body] if body else DEFAULTS[kind]
        dictionaries[kind] = Dictionary(kind=kind, entries=_with_contact(kind, entries), used=sorted(used))
    for name in sorted(raw.dictionaries):  # the school's own lists (an item without a body: none yet)
        body, used = raw.dictionaries[name]
        if name not in BUILT_IN_KINDS and body:
            entries = [DictionaryEntry(**e) for e in body]
            dictionaries[name] = Dictionary(kind=name, custom=True, entries=entries, used=sorted(used))
    return TenantConfig(
        dictionaries=dictionaries,
        lead_settings=LeadSettings(**(raw.lead_settings or {})),
        assessment=AssessmentConfig(**(raw.assessment or {})),
        card_settings=CardSettings(**(raw.card_settings or {})),
        messaging=MessagingSettings(**(raw.messaging or {})),
        security=SecuritySettings(**(raw.security or {})),
        lead_fields=[LeadFieldDefinition(**f) for f in raw.lead_fields or []],
        lead_fields_used=frozenset(raw.lead_fields_used),
    )


def load_security(tenant: str) -> SecuritySettings:
    """The school's security settings alone, as they are now: `load(tenant, fresh=True).security`
    (the same read, the same defaults) without validating the other sections, so the stream's
    freeze check and the audit's retention load none of the messaging, lead or card schemas."""
    return SecuritySettings(**(config_db.load_all(tenant).security or {}))


def check_lead_values(config: TenantConfig, values: dict[str, Any], before: dict[str, Any]) -> dict[str, set[str]]:
    """Validates dictionary-valued lead fields; returns the keys to mark as used, by kind.

    A retired value may stay on a lead that already has it, but cannot be newly chosen.
    """
    newly: dict[str, set[str]] = {}
    for name, kind in LEAD_FIELDS.items():
        value = values.get(name)
        if value is None:
            continue
        entry = config.entry(kind, value)
        unchanged = before.get(name) == value
        if entry is None or (entry.retired and not unchanged):
            choices = ", ".join(e.key for e in config.dictionaries[kind].entries if not e.retired)
            raise ValidationFailedError(
                f"Unknown or retired {name} {value!r}; one of: {choices}.",
                details=[{"field": name, "message": "not in the school's list"}],
            )
        if name == "sub_source" and (entry.parent is None or entry.parent != values.get("source")):
            raise ValidationFailedError(
                f"{value!r} is not a sub-source of {values.get('source')!r}.",
                details=[{"field": "sub_source", "message": "not under the chosen source"}],
            )
        if value not in config.dictionaries[kind].used:
            newly.setdefault(kind.value, set()).add(value)
    if values.get("custom"):
        for listed, keys_used in check_custom(config, values["custom"], before.get("custom") or {}).items():
            newly.setdefault(listed, set()).update(keys_used)
    return newly


def _custom_error(key: str, message: str, detail: str) -> ValidationFailedError:
    return ValidationFailedError(message, details=[{"field": f"custom.{key}", "message": detail}])


def custom_value(config: TenantConfig, key: str, value: Any, *, newly_set: bool = True) -> Any:
    """A value for the school's own lead field `key`, checked like a built-in field's (400
    naming `custom.<key>`); `newly_set` False: the lead has it already (a retired field or
    list entry may stay). Returns the value as stored."""
    definition = config.lead_field(key)
    if definition is None:
        choices = ", ".join(f.key for f in config.lead_fields if not f.retired) or "none"
        raise _custom_error(key, f"Unknown custom field {key!r}; the school's fields: {choices}.", "no such field")
    if definition.retired and newly_set:
        raise _custom_error(key, f"The field {key!r} is retired; it cannot be set.", "retired field")
    kind = definition.type
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _custom_error(key, f"{key} must be a number.", "not a number")
        if abs(value) > CUSTOM_NUMBER_MAX:
            raise _custom_error(key, f"{key} must be within ±{CUSTOM_NUMBER_MAX:.0e}.", "out of range")
        return value
    if not isinstance(value, str):
        raise _custom_error(key, f"{key} must be text.", "not text")
    if kind == "text":
        if not 1 <= len(value) <= CUSTOM_TEXT_MAX or control_character(value):
            raise _custom_error(
                key, f"{key} must be 1 to {CUSTOM_TEXT_MAX} characters, without control characters.", "bad text"
            )
        return value
    if kind == "date":
        try:
            day = date.fromisoformat(value) if _DAY.match(value) else None
        except ValueError:
            day = None
        if day is None or not MIN_DAY <= day <= MAX_DAY:
            raise _custom_error(key, f"{key} must be a date YYYY-MM-DD between 1900 and 2100.", "not a date")
        return value
    listed = config.dictionaries.get(definition.list or "")
    entry = next((e for e in listed.entries if e.key == value), None) if listed else None
    if entry is None or (entry.retired and newly_set):
        choices = ", ".join(e.key for e in listed.entries if not e.retired) if listed else ""
        raise _custom_error(key, f"Unknown or retired {key} {value!r}; one of: {choices}.", "not in the school's list")
    return value


def custom_filter(config: TenantConfig, wanted: list[str]) -> tuple[tuple[str, Any], ...]:
    """GET /leads's `custom` filters (<key>:<value>, a list field's entry key) as (key, value)
    pairs, the value as the lead stores it (a number as a number); 400 for an unknown field or
    a value its type cannot take."""
    pairs = []
    for text in wanted:
        key, _, written = text.partition(":")
        definition = config.lead_field(key)
        value: Any = written
        if definition is not None and definition.type == "number":
            try:
                value = float(written)
            except ValueError:
                value = written  # refused below as not a number
            else:
                value = int(value) if value.is_integer() and abs(value) <= CUSTOM_NUMBER_MAX else value
        try:
            pairs.append((key, custom_value(config, key, value, newly_set=False)))
        except ValidationFailedError as exc:
            detail = {"field": "custom", "message": f"{key}: not a value of the field"}
            raise ValidationFailedError(str(exc), details=[detail]) from exc
    return tuple(pairs)


def check_custom(config: TenantConfig, after: dict[str, Any], before: dict[str, Any]) -> dict[str, set[str]]:
    """Checks a lead's `custom` values that differ from `before` (one it has already may stay
    though its field or entry was retired since); returns what to mark used, by kind (the
    list entries by their list, the field keys under config_db.FIELDS)."""
    newly: dict[str, set[str]] = {}
    for key, value in after.items():
        custom_value(config, key, value, newly_set=key not in before or before[key] != value)
        definition = config.lead_field(key)
        if definition is None:
            continue
        if key not in config.lead_fields_used:
            newly.setdefault(config_db.FIELDS, set()).add(key)
        if definition.list and value not in config.dictionaries[definition.list].used:
            newly.setdefault(definition.list, set()).add(value)
    return newly


def list_kind(name: str) -> str:
    """A list's name as a caller gave it: a built-in kind (as DictionaryKind) or a name of the
    school's own lists' form; anything else is 400."""
    if name in BUILT_IN_KINDS:
        return DictionaryKind(name)
    if not _CUSTOM_NAME.match(name):
        choices = ", ".join(k.value for k in DictionaryKind)
        raise ValidationFailedError(
            f"Unknown list {name[:40]!r}: one of {choices}, or a list of the school's own named by "
            "2 to 32 lowercase letters, digits or _ (starting with a letter).",
            details=[{"field": "kind", "message": "not a list name"}],
        )
    return name


def list_dictionaries(tenant: str) -> DictionaryList:
    return DictionaryList(items=list(load(tenant, fresh=True).dictionaries.values()))


def get_dictionary(tenant: str, kind: str) -> Dictionary:
    found = load(tenant, fresh=True).dictionaries.get(kind)
    if found is None:
        raise NotFoundError(
            f"The school has no list {kind!r}.",
            code="DICTIONARY_NOT_FOUND",
            details=[{"field": "kind", "message": "no such list"}],
        )
    return found


def put_dictionary(tenant: str, kind: str, request: DictionaryPutRequest) -> Dictionary:
    """Replaces a list (creates one of the school's own: at most MAX_CUSTOM_LISTS)."""
    if kind is not DictionaryKind.sources and any(e.parent for e in request.entries):
        raise ValidationFailedError(
            "Only sources have sub-entries.", details=[{"field": "entries", "message": "parent is for sources only"}]
        )
    if kind is not DictionaryKind.statuses and any(e.contact for e in request.entries):
        raise ValidationFailedError(
            "Only statuses say whom to contact.",
            details=[{"field": "entries", "message": "contact is for statuses only"}],
        )
    dictionaries = load(tenant, fresh=True).dictionaries
    if kind not in dictionaries and sum(1 for d in dictionaries.values() if d.custom) >= MAX_CUSTOM_LISTS:
        raise ValidationFailedError(
            f"A school has at most {MAX_CUSTOM_LISTS} lists of its own.",
            details=[{"field": "kind", "message": f"at most {MAX_CUSTOM_LISTS} lists"}],
        )
    current = dictionaries.get(kind) or Dictionary(kind=kind, custom=True, entries=[])
    removed = {e.key for e in current.entries} - {e.key for e in request.entries}
    in_use = sorted(removed & set(current.used))
    if not in_use:
        body = [e.model_dump() for e in _with_contact(kind, request.entries)]
        if config_db.put_dictionary(tenant, kind, body, must_not_use=removed):
            return load(tenant, fresh=True).dictionaries[kind]
        in_use = sorted(removed & set(load(tenant, fresh=True).dictionaries[kind].used))
    raise ConflictError(
        "Values in use cannot be deleted; set them retired instead: " + ", ".join(in_use),
        code="VALUE_IN_USE",
        details=[{"field": "entries", "key": k, "message": "in use; retire it"} for k in in_use],
    )


def built_in_lead_fields() -> frozenset[str]:
    """The names a lead's own fields take (and what the API shows with them): not a custom key."""
    from chalicelib.schemas.leads import Lead, LeadCreateRequest, LeadDetail

    names = {*Lead.model_fields, *LeadCreateRequest.model_fields, *LeadDetail.model_fields}
    return frozenset(names | {"phones", "name_key", "version", "phone", "guardian"})


def get_lead_fields(tenant: str) -> LeadFields:
    config = load(tenant, fresh=True)
    return LeadFields(fields=config.lead_fields, used=sorted(config.lead_fields_used))


def put_lead_fields(tenant: str, request: LeadFieldsPutRequest) -> LeadFields:
    """Replaces the school's own lead fields. A field some lead has a value for cannot be
    removed or change its type or list (retire it instead: it stays on those leads)."""
    config = load(tenant, fresh=True)
    built_in = built_in_lead_fields()
    for index, definition in enumerate(request.fields):
        if definition.key in built_in:
            raise ValidationFailedError(
                f"{definition.key!r} is a built-in lead field; choose another key.",
                details=[{"field": f"fields.{index}.key", "message": "a built-in field's name"}],
            )
        if definition.list is not None and definition.list not in config.dictionaries:
            raise ValidationFailedError(
                f"The school has no list {definition.list!r}; create it first.",
                details=[{"field": f"fields.{index}.list", "message": "no such list"}],
            )
    old = {f.key: (f.type, f.list) for f in config.lead_fields}
    new = {f.key: (f.type, f.list) for f in request.fields}
    changed = {key for key, shape in old.items() if new.get(key) != shape}  # removed or retyped
    in_use = sorted(changed & config.lead_fields_used)
    if not in_use:
        body = [f.model_dump() for f in request.fields]
        if config_db.put_lead_fields(tenant, body, must_not_use=changed):
            return get_lead_fields(tenant)
        in_use = sorted(changed & load(tenant, fresh=True).lead_fields_used)
    raise ConflictError(
        "Fields some lead has cannot be deleted or change type; set them retired instead: " + ", ".join(in_use),
        code="VALUE_IN_USE",
        details=[{"field": "fields", "key": k, "message": "in use; retire it"} for k in in_use],
    )


def get_lead_settings(tenant: str) -> LeadSettings:
    return load(tenant, fresh=True).lead_settings


_Settings = TypeVar("_Settings", bound=BaseModel)


def _patched(current: _Settings, request: BaseModel) -> _Settings:
    """Settings with a PATCH applied: what it names changes, null or absent means unchanged."""
    return current.model_copy(update=request.model_dump(exclude_unset=True, exclude_none=True))


def patch_lead_settings(tenant: str, request: LeadSettingsPatch) -> LeadSettings:
    current = load(tenant, fresh=True).lead_settings
    updated = _patched(current, request)
    if request.erase_untouched_after_years == 0:  # 0 turns the retention off (null leaves it as it is)
        updated = updated.model_copy(update={"erase_untouched_after_years": None})
    if (current.erase_untouched_after_years is None) != (updated.erase_untouched_after_years is None):
        # turned on or off: leads written while it was off have no retention marker, so the
        # next time it is on the retention job back-fills them anew (docs/privacy.md). Before
        # the setting's write: if that fails, a back-fill more, never one missed
        from chalicelib.db import privacy as privacy_db

        privacy_db.reset_backfill(tenant)
    config_db.put_lead_settings(tenant, updated.model_dump(mode="json"))
    return updated


def get_card_settings(tenant: str) -> CardSettings:
    return load(tenant, fresh=True).card_settings


def patch_card_settings(tenant: str, request: CardSettingsPatch) -> CardSettings:
    updated = _patched(load(tenant, fresh=True).card_settings, request)
    config_db.put_card_settings(tenant, updated.model_dump(mode="json"))
    return updated


def get_messaging_settings(tenant: str) -> MessagingSettings:
    return load(tenant, fresh=True).messaging


def patch_messaging_settings(tenant: str, request: MessagingSettingsPatch) -> MessagingSettings:
    current = load(tenant, fresh=True).messaging
    # null clears a template choice; for every other setting null means "unchanged"
    changes = {
        k: v for k, v in request.model_dump(exclude_unset=True).items() if v is not None or k.endswith("template_id")
    }
    from chalicelib.schemas.messaging import MessagingSettings

    updated = MessagingSettings.model_validate({**current.model_dump(), **changes})
    from chalicelib.domain import templates  # (templates reads the table; config is imported everywhere)

    chosen = [updated.birthday_template_id, updated.reminder_template_id, updated.card_alert_template_id]
    chosen += [updated.receivable_template_id, updated.receivable_overdue_template_id]
    for template_id in filter(None, chosen):
        templates.get_data(tenant, template_id)  # 404 TEMPLATE_NOT_FOUND for an unknown one
    updated = updated.model_copy(update={"holidays": _holidays(tenant, updated.holidays)})
    config_db.put_messaging_settings(tenant, updated.model_dump(mode="json"))
    return updated


def _holidays(tenant: str, holidays: list[Any]) -> list[Any]:
    """The holidays as saved: each names an existing template of kind `holiday`, whose channel
    it takes (a `channel` given must be the template's); no holiday twice (name and date).
    A 400 naming the row otherwise, and nothing is written."""
    from chalicelib.db import messaging as messaging_db

    def refuse(i: int, field: str, message: str) -> ValidationFailedError:
        where = f"holidays.{i}.{field}"
        return ValidationFailedError(f"{where}: {message}", details=[{"field": where, "message": message}])

    seen: set[tuple[str, str]] = set()
    found: dict[str, Any] = {}
    saved = []
    for i, holiday in enumerate(holidays):
        if (holiday.name, holiday.date) in seen:
            raise refuse(i, "name", "this holiday is listed twice")
        seen.add((holiday.name, holiday.date))
        if holiday.template_id not in found:
            found[holiday.template_id] = messaging_db.get_template(tenant, holiday.template_id)
        template = found[holiday.template_id]
        if template is None:
            raise refuse(i, "template_id", "no such template")
        if template["template_kind"] != "holiday":
            raise refuse(i, "template_id", "not a holiday greeting template (kind holiday)")
        if holiday.channel not in (None, template["channel"]):
            raise refuse(i, "channel", f"the template is an {template['channel']} template")
        saved.append(holiday.model_copy(update={"channel": template["channel"]}))
    return saved


def get_security_settings(tenant: str) -> SecuritySettings:
    return load(tenant, fresh=True).security


def patch_security_settings(tenant: str, request: SecuritySettingsPatch) -> SecuritySettings:
    updated = _patched(load(tenant, fresh=True).security, request)
    config_db.put_security_settings(tenant, updated.model_dump(mode="json"))
    return updated


def get_assessment(tenant: str) -> AssessmentConfig:
    return load(tenant, fresh=True).assessment


def put_assessment(tenant: str, request: AssessmentConfig) -> AssessmentConfig:
    config_db.put_assessment(tenant, request.model_dump())
    return request

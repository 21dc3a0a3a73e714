"""A tenant's configuration: dictionaries (基础配置), lead settings, the assessment.

Read with one Query, at most once per RECENT_SECONDS per container (the rules of a write
check against what this container read lately; the settings routes and every settings
change read it as it is now); missing pieces fall back to the defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from chalicelib.db import config as config_db
from chalicelib.domain import clock
from chalicelib.errors import ConflictError, ValidationFailedError
from chalicelib.schemas.settings import (
    AssessmentConfig,
    CardSettings,
    CardSettingsPatch,
    Dictionary,
    DictionaryEntry,
    DictionaryKind,
    DictionaryPutRequest,
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
}

# What a lead in a status may be sent (statuses' `contact`) when the entry does not say.
DO_NOT_CONTACT_STATUSES = frozenset({"blacklist"})


def default_contact(key: str) -> str:
    return "none" if key in DO_NOT_CONTACT_STATUSES else "all"


def _with_contact(kind: DictionaryKind, entries: list[DictionaryEntry]) -> list[DictionaryEntry]:
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


@dataclass
class TenantConfig:
    dictionaries: dict[DictionaryKind, Dictionary]
    lead_settings: LeadSettings
    assessment: AssessmentConfig
    card_settings: CardSettings
    messaging: MessagingSettings
    security: SecuritySettings

    def entry(self, kind: DictionaryKind, key: str) -> DictionaryEntry | None:
        return next((e for e in self.dictionaries[kind].entries if e.key == key), None)

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
    dictionaries = {}
    for kind in DictionaryKind:
        body, used = raw.dictionaries.get(kind.value, (None, set()))
        entries = [DictionaryEntry(**e) for e in body] if body else DEFAULTS[kind]
        dictionaries[kind] = Dictionary(kind=kind, entries=_with_contact(kind, entries), used=sorted(used))
    return TenantConfig(
        dictionaries=dictionaries,
        lead_settings=LeadSettings(**(raw.lead_settings or {})),
        assessment=AssessmentConfig(**(raw.assessment or {})),
        card_settings=CardSettings(**(raw.card_settings or {})),
        messaging=MessagingSettings(**(raw.messaging or {})),
        security=SecuritySettings(**(raw.security or {})),
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
    return newly


def get_dictionary(tenant: str, kind: DictionaryKind) -> Dictionary:
    return load(tenant, fresh=True).dictionaries[kind]


def put_dictionary(tenant: str, kind: DictionaryKind, request: DictionaryPutRequest) -> Dictionary:
    if kind is not DictionaryKind.sources and any(e.parent for e in request.entries):
        raise ValidationFailedError(
            "Only sources have sub-entries.", details=[{"field": "entries", "message": "parent is for sources only"}]
        )
    if kind is not DictionaryKind.statuses and any(e.contact for e in request.entries):
        raise ValidationFailedError(
            "Only statuses say whom to contact.",
            details=[{"field": "entries", "message": "contact is for statuses only"}],
        )
    current = load(tenant, fresh=True).dictionaries[kind]
    removed = {e.key for e in current.entries} - {e.key for e in request.entries}
    in_use = sorted(removed & set(current.used))
    if not in_use:
        body = [e.model_dump() for e in _with_contact(kind, request.entries)]
        if config_db.put_dictionary(tenant, kind.value, body, must_not_use=removed):
            return load(tenant, fresh=True).dictionaries[kind]
        in_use = sorted(removed & set(load(tenant, fresh=True).dictionaries[kind].used))
    raise ConflictError(
        "Values in use cannot be deleted; set them retired instead: " + ", ".join(in_use),
        code="VALUE_IN_USE",
        details=[{"field": "entries", "key": k, "message": "in use; retire it"} for k in in_use],
    )


def get_lead_settings(tenant: str) -> LeadSettings:
    return load(tenant, fresh=True).lead_settings


_Settings = TypeVar("_Settings", bound=BaseModel)


def _patched(current: _Settings, request: BaseModel) -> _Settings:
    """Settings with a PATCH applied: what it names changes, null or absent means unchanged."""
    return current.model_copy(update=request.model_dump(exclude_unset=True, exclude_none=True))


def patch_lead_settings(tenant: str, request: LeadSettingsPatch) -> LeadSettings:
    updated = _patched(load(tenant, fresh=True).lead_settings, request)
    if request.erase_untouched_after_years == 0:  # 0 turns the retention off (null leaves it as it is)
        updated = updated.model_copy(update={"erase_untouched_after_years": None})
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
    for template_id in filter(None, chosen + [h.template_id for h in updated.holidays]):
        templates.get_data(tenant, template_id)  # 404 TEMPLATE_NOT_FOUND for an unknown one
    config_db.put_messaging_settings(tenant, updated.model_dump(mode="json"))
    return updated


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

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.settings import (
    AssessmentConfig,
    CardSettings,
    CardSettingsPatch,
    Dictionary,
    DictionaryList,
    DictionaryPutRequest,
    LeadFields,
    LeadFieldsPutRequest,
    LeadSettings,
    LeadSettingsPatch,
)

bp = Blueprint(__name__)
TAGS = ["settings"]


def _kind(call: Call) -> str:
    from chalicelib.domain import config

    return config.list_kind(call.params["kind"])


@endpoint(
    bp,
    "GET",
    "/settings/dictionaries",
    summary="Every list: the five built-in ones and the school's own",
    tags=TAGS,
    response=DictionaryList,
)
def list_dictionaries(call: Call[None, None]) -> DictionaryList:
    from chalicelib.domain import config

    return config.list_dictionaries(call.principal.tenant)


@endpoint(
    bp, "GET", "/settings/dictionaries/{kind}", summary="A configurable list (基础配置)", tags=TAGS, response=Dictionary
)
def get_dictionary(call: Call[None, None]) -> Dictionary:
    from chalicelib.domain import config

    return config.get_dictionary(call.principal.tenant, _kind(call))


@endpoint(
    bp,
    "PUT",
    "/settings/dictionaries/{kind}",
    summary="Replace a list, or create one of the school's own (at most 20); used values can only be retired",
    tags=TAGS,
    roles_allowed=roles.MANAGE_SETTINGS,
    body=DictionaryPutRequest,
    response=Dictionary,
)
def put_dictionary(call: Call[DictionaryPutRequest, None]) -> Dictionary:
    from chalicelib.domain import config

    return config.put_dictionary(call.principal.tenant, _kind(call), call.body)


@endpoint(
    bp,
    "GET",
    "/settings/lead-fields",
    summary="The school's own lead fields (自定义字段)",
    tags=TAGS,
    response=LeadFields,
)
def get_lead_fields(call: Call[None, None]) -> LeadFields:
    from chalicelib.domain import config

    return config.get_lead_fields(call.principal.tenant)


@endpoint(
    bp,
    "PUT",
    "/settings/lead-fields",
    summary="Replace the school's own lead fields; fields in use can only be retired",
    tags=TAGS,
    roles_allowed=roles.MANAGE_SETTINGS,
    body=LeadFieldsPutRequest,
    response=LeadFields,
)
def put_lead_fields(call: Call[LeadFieldsPutRequest, None]) -> LeadFields:
    from chalicelib.domain import config

    return config.put_lead_fields(call.principal.tenant, call.body)


@endpoint(bp, "GET", "/settings/leads", summary="Protection period and lead cap", tags=TAGS, response=LeadSettings)
def get_lead_settings(call: Call[None, None]) -> LeadSettings:
    from chalicelib.domain import config

    return config.get_lead_settings(call.principal.tenant)


@endpoint(
    bp,
    "PATCH",
    "/settings/leads",
    summary="Change the protection period or the lead cap",
    tags=TAGS,
    roles_allowed=roles.MANAGE_SETTINGS,
    body=LeadSettingsPatch,
    response=LeadSettings,
)
def patch_lead_settings(call: Call[LeadSettingsPatch, None]) -> LeadSettings:
    from chalicelib.domain import config

    return config.patch_lead_settings(call.principal.tenant, call.body)


@endpoint(
    bp,
    "GET",
    "/settings/assessment",
    summary="Questionnaires and levels (客户评估)",
    tags=TAGS,
    response=AssessmentConfig,
)
def get_assessment(call: Call[None, None]) -> AssessmentConfig:
    from chalicelib.domain import config

    return config.get_assessment(call.principal.tenant)


@endpoint(
    bp,
    "PUT",
    "/settings/assessment",
    summary="Replace the questionnaires and levels",
    tags=TAGS,
    roles_allowed=roles.MANAGE_SETTINGS,
    body=AssessmentConfig,
    response=AssessmentConfig,
)
def put_assessment(call: Call[AssessmentConfig, None]) -> AssessmentConfig:
    from chalicelib.domain import config

    return config.put_assessment(call.principal.tenant, call.body)


@endpoint(
    bp,
    "GET",
    "/settings/cards",
    summary="Card rules: deduction order, exchange rate, freezing",
    tags=TAGS,
    response=CardSettings,
)
def get_card_settings(call: Call[None, None]) -> CardSettings:
    from chalicelib.domain import config

    return config.get_card_settings(call.principal.tenant)


@endpoint(
    bp,
    "PATCH",
    "/settings/cards",
    summary="Change the card rules",
    tags=TAGS,
    roles_allowed=roles.MANAGE_SETTINGS,
    body=CardSettingsPatch,
    response=CardSettings,
)
def patch_card_settings(call: Call[CardSettingsPatch, None]) -> CardSettings:
    from chalicelib.domain import config

    return config.patch_card_settings(call.principal.tenant, call.body)

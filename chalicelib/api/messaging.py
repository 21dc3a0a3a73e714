"""Templates, messages (bulk, scheduled, typed numbers), the send records and the outbox."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.routing import Call, endpoint
from chalicelib.domain import roles
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.messaging import (
    DryRun,
    Message,
    MessageDetail,
    MessageDetailQuery,
    MessageQuery,
    MessageRequest,
    MessagingSettings,
    MessagingSettingsPatch,
    OutboxEntry,
    Template,
    TemplatePreview,
    TemplatePreviewRequest,
    TemplateRequest,
    TemplateVariables,
)
from chalicelib.schemas.users import Role

bp = Blueprint(__name__)
TAGS = ["messaging"]
EDITORS = frozenset({Role.admin, Role.manager})
WRITERS = roles.ALL_STAFF - {Role.teacher}  # who sends messages (free text is a template too)


@endpoint(
    bp,
    "POST",
    "/templates",
    summary="Add an SMS or e-mail template (checked against sample data)",
    tags=TAGS,
    roles_allowed=EDITORS,
    body=TemplateRequest,
    response=Template,
    status=201,
)
def create_template(call: Call[TemplateRequest, None]) -> Template:
    from chalicelib.domain import templates

    return templates.create(call.principal.tenant, call.body)


@endpoint(bp, "GET", "/templates", summary="Templates, by name", tags=TAGS, response=Page[Template])
def list_templates(call: Call[None, None]) -> Page[Template]:
    from chalicelib.domain import templates

    return Page[Template](items=templates.list_all(call.principal.tenant))


@endpoint(
    bp,
    "GET",
    "/templates/variables",
    summary="The variables a template may use, each field with its sample value",
    tags=TAGS,
    response=TemplateVariables,
)
def template_variables(call: Call[None, None]) -> TemplateVariables:
    from chalicelib.domain import templates

    return templates.offered()


@endpoint(
    bp,
    "POST",
    "/templates/preview",
    summary="Render a template or a message's text on the sample data (saves nothing)",
    tags=TAGS,
    roles_allowed=WRITERS,
    body=TemplatePreviewRequest,
    response=TemplatePreview,
)
def preview_template(call: Call[TemplatePreviewRequest, None]) -> TemplatePreview:
    from chalicelib.domain import templates

    return templates.preview(call.body)


@endpoint(bp, "GET", "/templates/{template_id}", summary="A template", tags=TAGS, response=Template)
def get_template(call: Call[None, None]) -> Template:
    from chalicelib.domain import templates

    return templates.get(call.principal.tenant, call.params["template_id"])


@endpoint(
    bp,
    "PUT",
    "/templates/{template_id}",
    summary="Replace a template",
    tags=TAGS,
    roles_allowed=EDITORS,
    body=TemplateRequest,
    response=Template,
)
def put_template(call: Call[TemplateRequest, None]) -> Template:
    from chalicelib.domain import templates

    return templates.replace(call.principal.tenant, call.params["template_id"], call.body)


@endpoint(
    bp,
    "DELETE",
    "/templates/{template_id}",
    summary="Delete a template",
    tags=TAGS,
    roles_allowed=EDITORS,
    status=204,
)
def delete_template(call: Call[None, None]) -> None:
    from chalicelib.domain import templates

    templates.delete(call.principal.tenant, call.params["template_id"])


@endpoint(
    bp,
    "POST",
    "/messages",
    summary="Send or schedule SMS or e-mail; ?dry_run=true previews recipients, skips and segments",
    tags=TAGS,
    body=MessageRequest,
    query=MessageQuery,
    response=Message,
    status=201,
    also_responses={200: DryRun},
)
def send_message(call: Call[MessageRequest, MessageQuery]) -> Message | Response:
    from chalicelib.domain import messaging

    result = messaging.send(call.principal, call.body, call.query.dry_run)
    if isinstance(result, DryRun):  # a preview creates nothing: 200, not 201
        return Response(
            body=result.model_dump_json(by_alias=True), status_code=200, headers={"Content-Type": "application/json"}
        )
    return result


@endpoint(
    bp,
    "GET",
    "/messages",
    summary="Send records (发送记录), newest first",
    tags=TAGS,
    query=PageQuery,
    response=Page[Message],
)
def list_messages(call: Call[None, PageQuery]) -> Page[Message]:
    from chalicelib.domain import messaging

    return messaging.list_messages(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "GET",
    "/messages/{message_id}",
    summary="A send record with each recipient's status and segments",
    tags=TAGS,
    query=MessageDetailQuery,
    response=MessageDetail,
    reads_customers=True,
)
def get_message(call: Call[None, MessageDetailQuery]) -> MessageDetail:
    from chalicelib.domain import messaging

    return messaging.get_message(call.principal, call.params["message_id"], call.query)


@endpoint(
    bp,
    "GET",
    "/outbox",
    summary="What the outbox provider 'sent' (not in production)",
    tags=TAGS,
    roles_allowed=EDITORS,
    query=PageQuery,
    response=Page[OutboxEntry],
    reads_customers=True,
)
def get_outbox(call: Call[None, PageQuery]) -> Page[OutboxEntry]:
    from chalicelib.domain import messaging

    return messaging.outbox(call.principal, call.query.limit, call.query.cursor)


@endpoint(
    bp,
    "GET",
    "/settings/messaging",
    summary="Quiet hours, caps, greetings, digests",
    tags=["settings"],
    response=MessagingSettings,
)
def get_messaging_settings(call: Call[None, None]) -> MessagingSettings:
    from chalicelib.domain import config

    return config.get_messaging_settings(call.principal.tenant)


@endpoint(
    bp,
    "PATCH",
    "/settings/messaging",
    summary="Change the messaging settings",
    tags=["settings"],
    roles_allowed=roles.MANAGE_SETTINGS,
    body=MessagingSettingsPatch,
    response=MessagingSettings,
)
def patch_messaging_settings(call: Call[MessagingSettingsPatch, None]) -> MessagingSettings:
    from chalicelib.domain import config

    return config.patch_messaging_settings(call.principal.tenant, call.body)

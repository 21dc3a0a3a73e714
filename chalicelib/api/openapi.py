"""OpenAPI 3.1, generated from the endpoint registry and the pydantic models.

`GET /openapi.json` serves it; docs/openapi.json is the committed copy and a test fails
when either drifts from the registered routes. docs/api-contract.md describes the
conventions written here: the security schemes, header parameters, the error envelope
with the codes each status can carry (from chalicelib/error_catalogue.py), downloads.
`make lint` checks the committed copy with Redocly's recommended rules (redocly.yaml).
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from chalice import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from chalicelib import error_catalogue
from chalicelib.api import error_reach
from chalicelib.api.routing import (
    JSON,
    MAX_PATH_PARAMETER,
    REGISTRY,
    Call,
    EndpointSpec,
    endpoint,
    load_views,
    wrapper_steps,
)
from chalicelib.schemas.common import ErrorResponse

bp = Blueprint(__name__)

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Invalid input",
    401: "Not signed in",
    403: "Not allowed for this role",
    404: "Not found",
    405: "Method not allowed on this path",
    406: "Not acceptable: this route answers with a file of another type",
    409: "Conflict",
    415: "Unsupported Content-Type of the request body",
    423: "Account frozen",
    429: "Too many requests",
    500: "Server error",
}

SERVERS = [
    {"url": "http://127.0.0.1:8000", "description": "The local stack (`make run`; CRM_LOCAL_API_PORT)"},
    {
        "url": "https://{api_id}.execute-api.{region}.amazonaws.com/api",
        "description": "A deployed stage (API Gateway; its id is in the stack's outputs)",
        "variables": {
            "api_id": {"default": "abcdef1234", "description": "The stage's REST API id"},
            "region": {"default": "ap-east-1", "description": "The AWS region it was deployed to"},
        },
    },
]

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A staff member's token from POST /auth/login",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "A school website's key (POST /settings/api-keys); its allowed origins are checked",
    },
}

# Request headers, referenced from each operation that reads them.
PARAMETERS: dict[str, dict[str, Any]] = {
    "AcceptLanguage": {
        "name": "Accept-Language",
        "in": "header",
        "required": False,
        "description": "The language of an error's `message` (Chinese or English; default English). "
        "Error codes never change with it.",
        "schema": {"type": "string", "maxLength": 200, "examples": ["zh-CN", "en"]},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Sent again with the same key (within 24 hours), the request is applied once and "
        "answers the same; the same key with a different request is a 409 IDEMPOTENCY_KEY_REUSED.",
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{8,128}$", "examples": ["pay-2026-12-01-0001"]},
    },
}
_HEADER_PARAMETERS = {"Idempotency-Key": "IdempotencyKey"}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending the same request again (BUSY, THROTTLED)",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_CONTENT_DISPOSITION = {
    "Content-Disposition": {
        "description": 'A file\'s name, e.g. attachment; filename="leads-20261201.xlsx"',
        "schema": {"type": "string"},
    }
}
_TEXT = {"type": "string"}  # a page (text/html) or a text file (text/csv)
_BINARY = {"type": "string", "format": "binary"}  # a spreadsheet
# an id or a name in the path: never empty (`/templates/` is another route)
PATH_PARAMETER = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_PARAMETER}


def _ref(model: type[BaseModel], mode: str, refs: dict[Any, Any]) -> dict[str, Any]:
    return refs[(model, mode)]


def _file_schema(content_type: str) -> dict[str, Any]:
    return _TEXT if content_type.startswith("text/") else _BINARY


def error_schema_name(status: int) -> str:
    return f"ErrorResponse{status}"


def _error_schemas(statuses: set[int], envelope: dict[str, Any], body_ref: str) -> dict[str, Any]:
    """One envelope per status: the shared ErrorBody whose `code` is an enum of the codes that
    status carries (a generated client gets `ErrorBody & {code: "BUSY" | ...}`)."""
    schemas: dict[str, Any] = {}
    for status in sorted(statuses):
        codes = error_catalogue.codes_for_status(status)
        error = {
            "allOf": [
                {"$ref": body_ref},
                {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}},
            ]
        }
        schemas[error_schema_name(status)] = {
            **copy.deepcopy(envelope),
            "title": error_schema_name(status),
            "description": f"The error envelope of a {status} ({_STATUS_TEXT.get(status, 'error')}): "
            "`error.code` is one of the codes listed.",
            "properties": {"error": error},
        }
    return schemas


def _codes_by_status(spec: EndpointSpec, reach: error_reach.Reach) -> dict[int, list[str]]:
    """The error codes this operation can answer (its view's, read from the source, and its
    wrapper's), by the statuses they are answered with; a server error (500) is not listed."""
    codes, steps = wrapper_steps(spec)
    codes |= reach.codes(spec.handler, *steps)
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        for status in error_catalogue.CATALOGUE[code].all_statuses():
            if status < 500:
                by_status.setdefault(status, []).append(code)
    return dict(sorted(by_status.items()))


def _error_answer(status: int, codes: list[str]) -> dict[str, Any]:
    """The status's envelope with `error.code` narrowed to this operation's codes."""
    return {
        "allOf": [
            {"$ref": f"#/components/schemas/{error_schema_name(status)}"},
            {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code"],
                        "properties": {"code": {"type": "string", "enum": codes}},
                    }
                },
            },
        ]
    }


def _description(spec: EndpointSpec) -> str:
    """The view's docstring, else the summary; then who may call it."""
    text = spec.description or f"{spec.summary}."
    if spec.roles is not None:
        who = f"Signed-in staff with the role {', '.join(sorted(r.value for r in spec.roles))}."
    elif spec.api_key:
        who = "Public: a school website's API key (X-Api-Key)."
    else:
        who = "Public: no sign-in."
    return f"{text}\n\n{who}"


def _parameters(spec: EndpointSpec) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETER}
        for name in re.findall(r"{(\w+)}", spec.path)
    ]
    if spec.query:
        schema = spec.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop})
    for header in spec.honours_headers:
        params.append({"$ref": f"#/components/parameters/{_HEADER_PARAMETERS[header]}"})
    params.append({"$ref": "#/components/parameters/AcceptLanguage"})
    return params


def _success(spec: EndpointSpec, refs: dict[Any, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": _STATUS_TEXT.get(spec.status, "OK")}
    content: dict[str, Any] = {}
    if spec.response:
        content[spec.content_type] = {"schema": _ref(spec.response, "serialization", refs)}
    elif spec.content_type != JSON:  # a file or a page
        content[spec.content_type] = {"schema": _file_schema(spec.content_type)}
    elif spec.status != 204:  # a JSON answer without a model (this document)
        content[JSON] = {"schema": {"type": "object"}}
    for kind in spec.also_content:
        content[kind] = {"schema": _file_schema(kind)}
    if content:
        ok["content"] = content
    if any(kind != JSON and not kind.startswith("text/html") for kind in content):
        ok["headers"] = _CONTENT_DISPOSITION
    return ok


def build(registry: list[EndpointSpec] | None = None) -> dict[str, Any]:
    load_views()  # the error codes are read from the views' source: the modules they import where they run
    specs = sorted(registry if registry is not None else REGISTRY, key=lambda s: (s.path, s.method))
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorResponse, "serialization")]
    for spec in specs:
        if spec.body:
            wanted.append((spec.body, "validation"))
        if spec.response:
            wanted.append((spec.response, "serialization"))
        wanted.extend((model, "serialization") for model in spec.also_responses.values())
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template="#/components/schemas/{model}")
    schemas = top.get("$defs", {})
    paths: dict[str, Any] = {}
    statuses: set[int] = set()
    reach = error_reach.Reach()
    for spec in specs:
        op: dict[str, Any] = {
            "operationId": spec.view_name,
            "summary": spec.summary,
            "description": _description(spec),
            "tags": spec.tags,
            "responses": {},
        }
        if spec.roles is not None:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = sorted(r.value for r in spec.roles)
        elif spec.api_key:
            op["security"] = [{"apiKey": []}]
        else:
            op["security"] = []
        op["parameters"] = _parameters(spec)
        if spec.body:
            op["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": _ref(spec.body, "validation", refs)}},
            }
        if spec.uploads:
            op["requestBody"] = {"required": True, "content": {kind: {"schema": _BINARY} for kind in spec.uploads}}
        op["responses"][str(spec.status)] = _success(spec, refs)
        for code, model in spec.also_responses.items():
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "OK"),
                "content": {JSON: {"schema": _ref(model, "serialization", refs)}},
            }
        by_status = _codes_by_status(spec, reach)
        for status, codes in by_status.items():
            statuses.add(status)
            answer: dict[str, Any] = {
                "description": _STATUS_TEXT.get(status, "Error"),
                "content": {JSON: {"schema": _error_answer(status, codes)}},
            }
            if status in (409, 429):
                answer["headers"] = _RETRY_AFTER
            op["responses"][str(status)] = answer
        op["x-error-codes"] = sorted({code for codes in by_status.values() for code in codes})
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    # the generic envelope becomes one per status (ErrorResponse409, ...), each with its codes
    envelope = schemas.pop(ErrorResponse.__name__)
    schemas.update(_error_schemas(statuses, envelope, envelope["properties"]["error"]["$ref"]))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Campus CRM API",
            "version": "0.1.0",
            "description": "Leads, follow-ups, appointments and membership cards for schools. "
            'Every error is {"error": {"code", "message", "details"}}; money and credits are decimal '
            "strings. Conventions: docs/api-contract.md.",
            "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
        },
        "servers": SERVERS,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": PARAMETERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return build()


@endpoint(bp, "GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", tags=["meta"], public=True)
def get_openapi(call: Call[None, None]) -> dict[str, Any]:
    """The document itself: every route, its parameters, bodies, answers and error codes."""
    return _document()

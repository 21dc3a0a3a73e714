"""OpenAPI 3.1, generated from the endpoint registry and the pydantic models.

`GET /openapi.json` serves it; docs/openapi.json is the committed copy and a test fails
when either drifts from the registered routes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from chalice import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.routing import JSON, MAX_PATH_PARAMETER, REGISTRY, Call, EndpointSpec, endpoint
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
    409: "Conflict",
    423: "Account frozen",
    429: "Too many requests",
    500: "Server error",
}


def _ref(model: type[BaseModel], mode: str, refs: dict[Any, Any]) -> dict[str, Any]:
    return refs[(model, mode)]


_FILE = {"type": "string", "format": "binary"}
# an id or a name in the path: never empty (`/templates/` is another route)
PATH_PARAMETER = {"type": "string", "minLength": 1, "maxLength": MAX_PATH_PARAMETER}


def build(registry: list[EndpointSpec] | None = None) -> dict[str, Any]:
    specs = sorted(registry if registry is not None else REGISTRY, key=lambda s: (s.path, s.method))
    wanted: list[tuple[type[BaseModel], str]] = [(ErrorResponse, "serialization")]
    for spec in specs:
        if spec.body:
            wanted.append((spec.body, "validation"))
        if spec.response:
            wanted.append((spec.response, "serialization"))
        wanted.extend((model, "serialization") for model in spec.also_responses.values())
    wanted = list(dict.fromkeys(wanted))
    refs, top = models_json_schema(wanted, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for spec in specs:
        op: dict[str, Any] = {
            "operationId": spec.view_name,
            "summary": spec.summary,
            "tags": spec.tags,
            "responses": {},
        }
        if spec.roles is not None:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = sorted(r.value for r in spec.roles)
        else:
            op["security"] = []
        params = [
            {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETER}
            for name in re.findall(r"{(\w+)}", spec.path)
        ]
        if spec.query:
            schema = spec.query.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
                )
        if params:
            op["parameters"] = params
        if spec.body:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(spec.body, "validation", refs)}},
            }
        if spec.uploads:
            binary = {"schema": {"type": "string", "format": "binary"}}
            op["requestBody"] = {"required": True, "content": {kind: binary for kind in spec.uploads}}
        ok: dict[str, Any] = {"description": _STATUS_TEXT.get(spec.status, "OK")}
        content: dict[str, Any] = {}
        if spec.response:
            content[spec.content_type] = {"schema": _ref(spec.response, "serialization", refs)}
        elif spec.content_type != JSON:  # a file or a page
            content[spec.content_type] = {"schema": _FILE}
        for kind in spec.also_content:
            content[kind] = {"schema": _FILE}
        if content:
            ok["content"] = content
        op["responses"][str(spec.status)] = ok
        for code, model in spec.also_responses.items():
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "OK"),
                "content": {JSON: {"schema": _ref(model, "serialization", refs)}},
            }
        error_ref = _ref(ErrorResponse, "serialization", refs)
        for code in spec.errors:
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": error_ref}},
            }
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Campus CRM API",
            "version": "0.1.0",
            "description": "Leads, follow-ups, appointments and membership cards for schools. "
            'Every error is {"error": {"code", "message", "details"}}.',
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return build()


@endpoint(bp, "GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", tags=["meta"], public=True)
def get_openapi(call: Call) -> dict[str, Any]:
    return _document()

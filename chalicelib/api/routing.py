"""The one wrapper every view goes through.

`endpoint(...)` registers a Chalice route and, around the view: authenticates the bearer
token, checks the role, parses the body and the query string with pydantic (unknown
fields rejected), turns every error into the JSON envelope, and records the metadata the
OpenAPI builder reads. Public routes may name a `gate` (headers, source IP -> caller, run
before the input is read) and their own CORS. Chalice turns any other exception into a
bare 500 before middleware sees it, which is why this lives here and not in middleware.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from chalice import Blueprint, CORSConfig, Response
from pydantic import AliasChoices, BaseModel, ValidationError

from chalicelib import error_catalogue
from chalicelib.domain import roles
from chalicelib.errors import BusyError, CrmError, ForbiddenError, ThrottledError, ValidationFailedError, busy_cause
from chalicelib.observability import logger
from chalicelib.schemas.common import INPUT, StrictModel, control_character
from chalicelib.schemas.users import Role

if TYPE_CHECKING:
    from chalicelib.domain.auth import Principal

# The caller's checks (domain.auth: the token; domain.audit: the entry, the read window) are
# imported by the first request that runs them, not when the routes register: they load
# the store (pynamodb, botocore), which `import app` leaves to the first request.

JSON = "application/json"


@dataclass
class EndpointSpec:
    method: str
    path: str
    summary: str
    view_name: str
    tags: list[str]
    roles: frozenset[Role] | None  # None: public
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    content_type: str = JSON
    also_content: list[str] = field(default_factory=list)  # the success answer's other types (?format=)
    also_responses: dict[int, type[BaseModel]] = field(default_factory=dict)  # other successes (a dry run's 200)
    uploads: list[str] = field(default_factory=list)  # a file as the request body, of these types
    reads_customers: bool = False  # returns customer data: weighed for anti-scraping, refused when spent
    description: str = ""  # the view's docstring: the operation's description
    honours_headers: list[str] = field(default_factory=list)  # request headers the view reads (Idempotency-Key)
    api_key: bool = False  # a public route gated by the website's X-Api-Key (the only `gate`)
    handler: Callable[..., Any] | None = field(default=None, repr=False, compare=False)  # the view's function
    gate: Callable[..., Any] | None = field(default=None, repr=False, compare=False)


REGISTRY: list[EndpointSpec] = []


def load_views() -> None:
    """Imports what the registered views (and this wrapper) import where they run: the domain
    modules `import app` leaves to the first request. What reads the views' source for the
    names they call (the OpenAPI document's error codes, chalicelib/api/error_reach.py) runs
    this first, so it sees every module a request may load."""
    names = (
        {__name__}
        | {s.handler.__module__ for s in REGISTRY if s.handler}
        | {s.gate.__module__ for s in REGISTRY if s.gate}
    )
    for name in sorted(names):
        tree = ast.parse(inspect.getsource(sys.modules[name]))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    module = importlib.import_module(node.module)
                    for alias in node.names:  # a submodule (`from chalicelib.domain import leads`)
                        if not hasattr(module, alias.name):
                            importlib.import_module(f"{node.module}.{alias.name}")
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        importlib.import_module(alias.name)


# what Chalice answers itself for every route (the envelope is put on by in_envelope)
CHALICE_CODES = frozenset({"METHOD_NOT_ALLOWED", "UNSUPPORTED_MEDIA_TYPE"})


def wrapper_steps(spec: EndpointSpec) -> tuple[set[str], list[Callable[..., Any]]]:
    """What `endpoint`'s wrapper may answer for this route besides the view's own errors: the
    codes it raises itself and the functions it runs around the view (their codes come from
    the source; chalicelib/api/error_reach.py). Kept beside the wrapper: change them together."""
    from chalicelib.domain import audit, auth

    codes = set(CHALICE_CODES) | {"BUSY"}  # BUSY: the store throttled past its retries
    steps: list[Callable[..., Any]] = [_check_path, _parse_query]
    if spec.roles is not None:
        codes.add("ROLE_FORBIDDEN")
        steps.append(auth.authenticate)
    if spec.gate is not None:
        steps.append(spec.gate)
    if spec.uploads:
        steps.append(_check_upload_type)
    if spec.body is not None:
        steps.append(_parse_body)
    if spec.reads_customers:
        steps.append(audit.reads_left)
    if spec.content_type != JSON or any(not kind.startswith("text/") for kind in spec.also_content):
        codes.add("NOT_ACCEPTABLE")  # a download asked for with an Accept it cannot meet
    return codes, steps


BodyT = TypeVar("BodyT")
QueryT = TypeVar("QueryT")


@dataclass
class Call(Generic[BodyT, QueryT]):
    """What a view receives: the caller, the parsed input, and the raw request. A view names
    the models it takes, `Call[LeadCreateRequest, None]`: the body (None: the route takes
    none) and the query (None: no parameters)."""

    signed_in: Principal | None  # None on a public route
    params: dict[str, str]
    body: BodyT
    query: QueryT
    source_ip: str | None
    user_agent: str | None
    headers: dict[str, str]
    upload: bytes | None = None  # the request body, for routes that take a file
    caller: Any = None  # public routes: what `gate` returned (a website's API key)
    reads_left: int | None = None  # customer-data routes: what the caller may still read (None: no limit)
    records: int | None = None  # customer-data routes: records returned, when not the result's items

    @property
    def principal(self) -> Principal:
        """The signed-in caller of a staff route (the wrapper has authenticated it)."""
        if self.signed_in is None:
            raise CrmError("A public route asked for a signed-in caller.")  # a bug: 500, logged
        return self.signed_in


def customer_records(result: Any, call: Call | None) -> int:
    """What a customer-data answer weighs: the records the view says it returned, else a
    page's items, else one record."""
    if call is not None and call.records is not None:
        return call.records
    items = getattr(result, "items", None)
    return len(items) if isinstance(items, list) else 1


def attachment(body: str | bytes, content_type: str, filename: str) -> Response:
    """A file to download (a workbook, a CSV): 200 with its type and its name."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Content-Disposition": f'attachment; filename="{filename}"',
    }
    return Response(body=body, status_code=200, headers=headers)


def error_response(exc: CrmError, lang: str = "en") -> Response:
    """The envelope; `lang` ("en"/"zh", from Accept-Language) picks the message's language."""
    headers: dict[str, str | list[str]] = {
        "Content-Type": JSON,
        "Content-Language": error_catalogue.CONTENT_LANGUAGE.get(lang, "en"),
    }
    if isinstance(exc, (ThrottledError, BusyError)) and exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    body = json.dumps(exc.to_body(lang), ensure_ascii=False)
    return Response(body=body, status_code=exc.status, headers=headers)


# Chalice answers a few requests itself, before any view runs, as {"Code": ..., "Message": ...}
CHALICE_ERRORS: dict[str, tuple[str, str]] = {
    "MethodNotAllowedError": ("METHOD_NOT_ALLOWED", "This path does not take that method."),
    "UnsupportedMediaType": ("UNSUPPORTED_MEDIA_TYPE", "This route does not take a body of that Content-Type."),
    "BadRequest": ("NOT_ACCEPTABLE", "This route answers with a file: send Accept: */* or the file's type."),
    "InternalServerError": ("INTERNAL", "Something went wrong on our side; it was logged."),
}


def in_envelope(response: Response, lang: str = "en") -> Response:
    """Chalice's own answers (an unknown method, a wrong Content-Type, a file asked for without
    a matching Accept, an error outside a view) in the one error envelope, in `lang`."""
    body = response.body
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return response
    code, message = CHALICE_ERRORS.get(str(body["Code"]), ("INTERNAL", "Something went wrong on our side."))
    status = 406 if code == "NOT_ACCEPTABLE" else response.status_code
    error = CrmError(message, code=code, details=[{"field": "request", "message": str(body["Message"])[:300]}])
    enveloped = error_response(error.with_status(status), lang)
    enveloped.headers = {**(response.headers or {}), **enveloped.headers}
    return enveloped


# An id or a name in the path: bounded so that no key built from it can pass DynamoDB's
# limits (a sort key holds 1,024 bytes; 100 characters are at most 400 bytes, and a key may
# hold two parameters and a prefix).
MAX_PATH_PARAMETER = 100


def _check_path(params: dict[str, str]) -> None:
    for name, value in params.items():
        found = control_character(value)
        if found or not 0 < len(value) <= MAX_PATH_PARAMETER:
            message = f"control character {found}" if found else f"1 to {MAX_PATH_PARAMETER} characters"
            raise ValidationFailedError(f"{name}: {message}", details=[{"field": name, "message": message}])


def _check_upload_type(content_type: str | None, allowed: Iterable[str]) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in {a.lower() for a in allowed}:
        raise CrmError(
            f"Send the file as one of: {', '.join(allowed)}.",
            code="UNSUPPORTED_MEDIA_TYPE",
            details=[{"field": "Content-Type", "message": f"not accepted: {media[:100] or 'none'}"}],
        ).with_status(415)


def validation_error(exc: ValidationError, where: str) -> ValidationFailedError:
    details = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        details.append({"field": loc or where, "message": err.get("msg", "invalid"), "type": err.get("type")})
    first = details[0] if details else {"field": where, "message": "invalid"}
    if first.get("type") == "json_invalid":
        return ValidationFailedError("The request body is not valid JSON.", code="MALFORMED_JSON", details=details)
    return ValidationFailedError(f"Invalid {where}: {first['field']}: {first['message']}", details=details)


def _parse_body(raw: str | bytes | None, model: type[BaseModel]) -> BaseModel:
    if not raw:
        raise ValidationFailedError("A JSON body is required.", details=[{"field": "body", "message": "missing"}])
    try:
        return model.model_validate_json(raw, context=INPUT)
    except ValidationError as exc:
        raise validation_error(exc, "body") from exc


class NoQuery(StrictModel):
    """What a route that declares no query model accepts: no parameter at all."""


def accepted_parameters(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters a model takes: each field's alias (`from`), else its name."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(a for a in alias.choices if isinstance(a, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(info.alias or name)
        if model.model_config.get("populate_by_name"):
            names.add(name)
    return frozenset(names)


@functools.cache
def _list_parameters(model: type[BaseModel]) -> frozenset[str]:
    """The query parameters a model takes as a list (given once or more)."""
    return frozenset(info.alias or name for name, info in model.model_fields.items() if "list[" in str(info.annotation))


def _refused(name: str, message: str, kind: str) -> ValidationFailedError:
    detail = {"field": name[:100], "message": message, "type": kind}
    return ValidationFailedError(f"Invalid query: {name[:100]}: {message}", details=[detail])


def _parse_query(params: Any, model: type[BaseModel]) -> BaseModel:
    """The query string through the route's declared model, the one truth of what it takes:
    an unknown parameter is refused as an unknown body field is (extra_forbidden, naming
    it), and so is one given twice (the model would see only the last) unless the model takes
    a list there (`custom=a:1&custom=b:2`: every value, in order)."""
    params = params or {}
    repeatable = _list_parameters(model)
    values: dict[str, Any] = {}
    for name in params:
        if name not in accepted_parameters(model):
            raise _refused(name, "Extra inputs are not permitted", "extra_forbidden")
        given = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if name in repeatable:
            values[name] = list(given)
        elif len(given) > 1:
            raise _refused(name, "given more than once; send it once", "duplicate_parameter")
        else:
            values[name] = params[name]
    try:
        return model.model_validate(values, context=INPUT)
    except ValidationError as exc:
        raise validation_error(exc, "query") from exc


def _render(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204)
    if isinstance(result, BaseModel):
        body = result.model_dump_json(by_alias=True)  # the names the OpenAPI document gives
    else:
        body = json.dumps(result, ensure_ascii=False, default=str)
    return Response(body=body, status_code=status, headers={"Content-Type": JSON})


def _audit(principal, method, path, params, status, identity, headers, reads) -> None:
    """Every authenticated request is an audit entry; reads of customer data carry their
    anti-scraping weight, the records they returned (counted by the stream processor)."""
    from chalicelib.domain import audit

    audit.record(
        principal.tenant,
        action="read" if method == "GET" else "write",
        principal=principal,
        method=method,
        route=path,
        params=params,
        status=status,
        ip=identity.get("sourceIp"),
        user_agent=headers.get("user-agent"),
        weight=reads,
    )


def endpoint(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    summary: str,
    tags: Iterable[str] = (),
    roles_allowed: Iterable[Role] | None = roles.ALL_STAFF,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    public: bool = False,
    content_type: str = JSON,
    also_content: Iterable[str] = (),
    also_responses: dict[int, type[BaseModel]] | None = None,
    uploads: Iterable[str] = (),
    cors: CORSConfig | None = None,
    gate: Callable[[dict[str, str], str | None], Any] | None = None,
    reads_customers: bool = False,
    honours_headers: Iterable[str] = (),
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """`reads_customers`: the route returns customer data (names, phones of leads). It is
    refused while the caller's read window is spent, and weighs the records it returned.
    `honours_headers`: request headers the view reads (documented as header parameters)."""
    allowed = None if public else frozenset(roles_allowed or ())
    if reads_customers and allowed is None:
        raise ValueError(f"{path}: a public route cannot read customer data")

    def decorate(fn: Callable[[Call], Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def view(**params: str) -> Response:
            from chalicelib.domain import audit, auth

            request = bp.current_request
            headers = {k.lower(): v for k, v in (request.headers or {}).items()}
            identity = (request.context or {}).get("identity") or {}
            principal: Principal | None = None
            call: Call[Any, Any] | None = None
            caller: Any = None  # what `gate` returned (a website's API key)
            reads = 0
            lang = error_catalogue.language(headers.get("accept-language"))  # of an error's message
            try:
                if allowed is not None:
                    principal = auth.authenticate(headers.get("authorization"))
                    logger.append_keys(tenant=principal.tenant, user=principal.user_id)
                    if principal.role not in allowed:
                        raise ForbiddenError("Your role may not do this.", code="ROLE_FORBIDDEN")
                caller = gate(headers, identity.get("sourceIp")) if gate else None  # before reading the input
                _check_path(params)
                if uploads:
                    _check_upload_type(headers.get("content-type"), uploads)
                call = Call(
                    signed_in=principal,
                    params=params,
                    body=_parse_body(request.raw_body, body) if body else None,
                    query=_parse_query(request.query_params, query or NoQuery)
                    if query or request.query_params
                    else None,  # no model: any parameter is refused
                    source_ip=identity.get("sourceIp"),
                    user_agent=headers.get("user-agent"),
                    headers=headers,
                    # chalice annotates raw_body `str | bytes`; it always returns bytes (a str body is encoded)
                    upload=cast(bytes, request.raw_body) if uploads else None,
                    caller=caller,
                )
                if reads_customers:
                    call.reads_left = audit.reads_left(call.principal)  # 423 when a window is spent
                result = fn(call)
                response = _render(result, status)
                reads = customer_records(result, call) if reads_customers else 0
            except CrmError as exc:
                if exc.status >= 500:
                    logger.exception("server error")
                reads = exc.reads
                response = error_response(exc, lang)
            except Exception as exc:  # noqa: BLE001 - the envelope, not a bare 500, for anything unforeseen
                if busy_cause(exc):  # DynamoDB throttled past the client's own retries
                    logger.warning("store busy", extra={"error": type(exc).__name__})
                    response = error_response(BusyError(), lang)
                else:
                    logger.exception("unhandled error")
                    response = error_response(CrmError("Something went wrong on our side; it was logged."), lang)
            if principal is not None:
                _audit(principal, method.upper(), path, params, response.status_code, identity, headers, reads)
            elif getattr(caller, "tenant", None):  # a website's key: metered and traced like staff requests
                audit.record(
                    caller.tenant,
                    action="read" if method.upper() == "GET" else "write",
                    username=f"api-key:{caller.key_id}",
                    method=method.upper(),
                    route=path,
                    status=response.status_code,
                    ip=identity.get("sourceIp"),
                    user_agent=headers.get("user-agent"),
                )
            return response

        REGISTRY.append(
            EndpointSpec(
                method=method.upper(),
                path=path,
                summary=summary,
                view_name=fn.__name__,
                tags=list(tags),
                roles=allowed,
                body=body,
                query=query,
                response=response,
                status=status,
                content_type=content_type,
                also_content=list(also_content),
                also_responses=dict(also_responses or {}),
                uploads=list(uploads),
                reads_customers=reads_customers,
                description=inspect.getdoc(fn) or "",
                honours_headers=list(honours_headers),
                api_key=gate is not None,
                handler=fn,
                gate=gate,
            )
        )
        route_options: dict[str, Any] = {}
        if uploads:
            route_options["content_types"] = ["*/*"]  # the view checks the type, after the caller (401 first)
        if cors is not None:
            route_options["cors"] = cors  # else the app's CORS
        bp.route(path, methods=[method.upper()], **route_options)(view)
        return view

    return decorate

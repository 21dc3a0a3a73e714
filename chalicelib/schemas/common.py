from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

# --- input bounds: what any caller may send (issue 13) ------------------------------
MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2100, 12, 31)
# The validation context of what a caller sent (a request body or query, an import row):
# the bounds below apply. Stored data read back through the same models is not refused.
INPUT: dict[str, Any] = {"input": True}
# C0 control characters but tab, line feed and carriage return (a textarea's CRLF)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def control_character(text: str) -> str | None:
    """The first forbidden control character in `text`, as U+00XX; None if there is none."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def day_out_of_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return not MIN_DAY <= day <= MAX_DAY


def check_input(value: Any, where: str = "") -> None:
    """Refuses a control character in any text and a date or time outside MIN_DAY..MAX_DAY,
    inside lists and dicts too (a nested model checks its own fields)."""
    at = f" (item {where})" if where else ""
    if isinstance(value, str):
        found = control_character(value)
        if found:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters{at}: found {found}",
                {"at": at, "found": found},
            )
    elif isinstance(value, (date, datetime)):
        if day_out_of_range(value):
            raise PydanticCustomError(
                "date_out_of_range",
                "must be between {min} and {max}{at}",
                {"min": MIN_DAY.isoformat(), "max": MAX_DAY.isoformat(), "at": at},
            )
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            check_input(item, f"{where}.{i}" if where else str(i))
    elif isinstance(value, dict):
        for key, item in value.items():
            check_input(key, where)
            check_input(item, f"{where}.{key}" if where else str(key))


def _not_in_future(value: date) -> date:
    """No later than today anywhere on earth (UTC+14): a request model does not know the
    school's time zone; the domain may be stricter (an import row: the school's today)."""
    from chalicelib.domain import clock  # the one clock, frozen by tests

    if value > (clock.now() + timedelta(hours=14)).date():
        raise PydanticCustomError("date_in_future", "must not be in the future")
    return value


# A day that has happened: a birthday
PastDay = Annotated[date, AfterValidator(_not_in_future)]


# --- money and credits: decimal strings (docs/api-contract.md) ----------------------
# What any decimal answer looks like: at most nine digits before the point, two after.
DECIMAL_PATTERN = r"^-?\d{1,9}(\.\d{1,2})?$"


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f")  # never an exponent ("1E+2")


def _decimal_text(value: Any, info: ValidationInfo, pattern: re.Pattern[str]) -> Any:
    """Floats are already inexact: refused. What a caller sends as a string must be a plain
    decimal (no exponent) matching the pattern; stored data read back is not refused."""
    if isinstance(value, float):
        raise PydanticCustomError("decimal_type", 'send amounts as decimal strings, e.g. "9600.00"')
    if isinstance(value, str) and info.context and info.context.get("input") and not pattern.fullmatch(value.strip()):
        raise PydanticCustomError("decimal_pattern", "must be a decimal string like {example}", {"example": "9600.00"})
    return value


def _as_string(pattern: str, example: str) -> tuple[Any, Any]:
    serializer = PlainSerializer(_plain_decimal, return_type=str, when_used="json")
    return serializer, WithJsonSchema({"type": "string", "pattern": pattern, "examples": [example]})


def decimal_string(pattern: str = DECIMAL_PATTERN, example: str = "9600.00") -> tuple[Any, ...]:
    """An input Decimal that travels as a JSON string matching `pattern`, in both directions
    and in the OpenAPI document (a whole JSON number is still taken)."""
    compiled = re.compile(pattern)
    check = BeforeValidator(lambda value, info: _decimal_text(value, info, compiled))
    return (check, *_as_string(pattern, example))


# Any decimal answer (money, credits, a signed change): "9600.00", "-48.00"
DecimalString = Annotated[Decimal, *_as_string(DECIMAL_PATTERN, "9600.00")]
# A sum already written as a decimal string by the domain (a report's revenue)
DecimalText = Annotated[str, WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["9600.00"]})]


def _scalar_kinds(annotation: Any) -> frozenset[type]:
    """The scalar types a field's annotation allows, through Optional, unions and Annotated."""
    if annotation in (bool, int, float, Decimal, date, datetime, str):
        return frozenset({annotation})
    if get_origin(annotation) is Annotated:
        return _scalar_kinds(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return frozenset().union(*(_scalar_kinds(a) for a in get_args(annotation)))
    return frozenset()


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")  # how every date and time we take begins


def _no_lax_coercion(value: Any, kinds: frozenset[type]) -> None:
    """What pydantic's lax mode would quietly turn into something else: `true` into 1, a
    number (or a string of digits) into a day of 1970."""
    if isinstance(value, bool) and bool not in kinds and kinds & {int, float, Decimal}:
        raise PydanticCustomError("number_type", "must be a number, not true or false")
    if kinds & {date, datetime} and not kinds & {int, float, Decimal, str}:
        not_iso = isinstance(value, str) and not _ISO_DAY.match(value.strip())
        if isinstance(value, (int, float)) or not_iso:
            raise PydanticCustomError("date_type", "must be an ISO 8601 date or time (2026-12-01, 2026-12-01T10:00)")


class StrictModel(BaseModel):
    """Request bodies: unknown fields are an error, strings are stripped. Validated with the
    INPUT context (as routing does), every text is free of control characters and every
    date and time lies within MIN_DAY..MAX_DAY, each refusal naming its field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    @model_validator(mode="after")
    def _from_not_after_to(self) -> Any:
        """Any `from`..`to` range (a query's or a body's) runs forwards; DynamoDB refuses a
        key range whose start is past its end (a 500 the fuzzer found)."""
        lo, hi = getattr(self, "from_", None), getattr(self, "to", None)
        if not (isinstance(lo, date) and isinstance(hi, date) and type(lo) is type(hi)):
            return self
        if isinstance(lo, datetime) and isinstance(hi, datetime) and (lo.tzinfo is None) != (hi.tzinfo is None):
            return self  # one in school time, one with an offset: the domain compares them
        if hi < lo:
            raise PydanticCustomError("range_backwards", "to: must not be before from")
        return self

    @field_validator("*", mode="before")
    @classmethod
    def _not_coerced(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("input") and info.field_name in cls.model_fields:
            _no_lax_coercion(value, _scalar_kinds(cls.model_fields[info.field_name].annotation))
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("input"):
            check_input(value)
        return value


class Entity(BaseModel):
    # defer_build: a model's validator is built on first use, not at import (cold start)
    model_config = ConfigDict(extra="ignore", defer_build=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque; pass as `cursor` for the next page. Null on the last page."
    )


class PageQuery(StrictModel):
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2048)


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable, e.g. VALIDATION_FAILED")
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody

"""Phone numbers: normalised to E.164 with the tenant's default region, masked for display."""

from __future__ import annotations

import re

from chalicelib.errors import ValidationFailedError

WRITTEN = re.compile(r"[0-9 +\-()]+")  # how people write a number; nothing else is taken


def normalise(raw: str, region: str, field: str = "phone") -> str:
    """'138 0013 8000' with region CN -> '+8613800138000'; 400 naming `field` if not a number,
    or if it holds anything but digits, spaces, +, -, ( and ) (letters, =, quotes: a formula)."""
    import phonenumbers  # lazy: keeps the routes that never see a phone light

    if not WRITTEN.fullmatch(raw):
        raise ValidationFailedError(
            f"{field}: a phone number holds only digits, spaces, +, -, ( and ).",
            details=[{"field": field, "message": "only digits, spaces, +, -, ( and )"}],
        )
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationFailedError(
            f"{raw!r} is not a phone number.", details=[{"field": field, "message": "not a phone number"}]
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationFailedError(
            f"{raw!r} is not a possible phone number for region {region}.",
            details=[{"field": field, "message": "not a possible phone number"}],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """'+8613800138000' -> '138****8000': the national number with its middle hidden."""
    import phonenumbers

    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    if len(national) <= 6:
        return national[:1] + "*" * (len(national) - 2) + national[-1:]
    return national[:3] + "****" + national[-4:]

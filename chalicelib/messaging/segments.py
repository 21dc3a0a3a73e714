"""How many SMS segments a text costs: GSM-7 or UCS-2, and how many parts a carrier bills.

Pure functions, no I/O. The rule is the simple one: GSM-7 fits 160 septets in one segment and 153 per
part once concatenated; UCS-2 fits 70 UTF-16 code units in one segment and 67 per part. Carriers never
split a GSM-7 escape pair or a UTF-16 surrogate pair across two parts, so a real count can exceed this
one by a segment in rare cases; we use the simple rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set, in table order (0x1B, the escape to the extension table, is left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each character is sent as ESC + one septet, so it counts 2.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the basic set or its extension table, else UCS-2."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _units(text: str, enc: Encoding) -> int:
    if enc == "GSM-7":
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    # characters beyond the BMP take a surrogate pair; counted without encoding, so that a
    # lone surrogate (valid in JSON, not in UTF-16) counts one unit instead of raising
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def units(text: str) -> int:
    """Septets for GSM-7 (extension characters count 2); UTF-16 code units for UCS-2 (an emoji counts 2)."""
    return _units(text, encoding(text))


def _segments(n: int, enc: Encoding) -> int:
    if n == 0:
        return 0
    if n <= SINGLE[enc]:
        return 1
    return math.ceil(n / PART[enc])


def segments(text: str) -> int:
    """Segments billed: 0 for empty text, 1 up to 160 septets / 70 units, else 153 / 67 per part.

    Carriers never split an escape pair or a surrogate pair, so a real count can exceed this by one in rare
    cases; we use the simple rule.
    """
    enc = encoding(text)
    return _segments(_units(text, enc), enc)


def count(text: str) -> SegmentCount:
    """Encoding, units and segments of a text in one go."""
    enc = encoding(text)
    n = _units(text, enc)
    return SegmentCount(encoding=enc, units=n, segments=_segments(n, enc))

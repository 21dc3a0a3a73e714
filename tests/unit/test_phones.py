"""Phone numbers (chalicelib/domain/phones.py): E.164 in the school's region, masked for display."""

from __future__ import annotations

import pytest

from chalicelib.domain import phones
from chalicelib.errors import ValidationFailedError


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("13800138000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", "CN", "+8613800138000"),
        ("(0755) 1234 5678", "CN", "+8675512345678"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+86 13800138000", "US", "+8613800138000"),  # a number with its country keeps it
    ],
)
def test_a_number_as_people_write_it_is_stored_in_e164(raw, region, e164):
    assert phones.normalise(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("=HYPERLINK(1)", "only digits"),  # a formula, or any letter, is refused before parsing
        ("138 0013 800a", "only digits"),
        ("12", "not a"),
        ("+", "not a"),
    ],
)
def test_anything_else_is_a_400_naming_the_field(raw, why):
    with pytest.raises(ValidationFailedError) as refused:
        phones.normalise(raw, "CN", field="guardians.0.phones.0")
    assert refused.value.details[0]["field"] == "guardians.0.phones.0"
    assert why in refused.value.details[0]["message"]


@pytest.mark.parametrize(
    ("e164", "shown"),
    [("+8613800138000", "138****8000"), ("+14155552671", "415****2671"), ("+861234", "1**4")],
)
def test_a_number_is_shown_with_its_middle_hidden(e164, shown):
    assert phones.mask(e164) == shown

"""Pagination cursors (chalicelib/db/cursor.py): opaque, signed, bound to the list they came from."""

from __future__ import annotations

import pytest

from chalicelib.db import cursor
from chalicelib.errors import ValidationFailedError

KEY = {"PK": "T#t1#LEADS", "SK": "LEAD#01J0000000000000000000000", "n": 3}


def test_a_cursor_reads_back_as_the_key_it_wraps_and_no_key_is_no_cursor():
    token = cursor.encode(KEY, "t1:leads")
    assert token and "=" not in token and "LEAD" not in token
    assert cursor.decode(token, "t1:leads") == KEY
    assert cursor.encode(None, "t1:leads") is None and cursor.encode({}, "t1:leads") is None
    assert cursor.decode(None, "t1:leads") is None and cursor.decode("", "t1:leads") is None


@pytest.mark.parametrize("scope", ["t2:leads", "t1:messages", "t1:leads "])
def test_a_cursor_replayed_on_another_tenant_or_list_is_a_400(scope):
    with pytest.raises(ValidationFailedError) as refused:
        cursor.decode(cursor.encode(KEY, "t1:leads"), scope)
    assert refused.value.details == [{"field": "cursor", "message": "invalid or expired cursor"}]


def test_a_tampered_or_malformed_cursor_is_a_400():
    token = cursor.encode(KEY, "t1:leads")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, "not a cursor!", "QUJD", token[:10]):
        with pytest.raises(ValidationFailedError):
            cursor.decode(bad, "t1:leads")

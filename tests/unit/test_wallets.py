"""A card's wallets (chalicelib/domain/wallets.py): the order deductions take lots in, what a
deduction takes, what expires, and the hundredths amounts are kept in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import wallets

TODAY = "2026-03-01"
LOTS = {
    "late": {"units": 300, "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
    "soon": {"units": 200, "starts_on": "2026-02-01", "ends_on": "2026-04-30"},
    "early": {"units": 100, "starts_on": "2025-09-01", "ends_on": "2026-12-31"},
    wallets.MANUAL: {"units": 50},
}


def test_expiring_first_takes_the_lot_that_ends_first_then_the_one_that_started_first_and_manual_last():
    assert [k for k, _ in wallets.ordered(LOTS, "expiring_first")] == ["soon", "early", "late", wallets.MANUAL]


def test_oldest_first_takes_the_lot_that_started_first_and_manual_last():
    assert [k for k, _ in wallets.ordered(LOTS, "oldest_first")] == ["early", "late", "soon", wallets.MANUAL]


def test_equal_dates_fall_back_to_the_contract_id_so_the_order_is_stable():
    lots = {"b": {"units": 1, "ends_on": "2026-05-01"}, "a": {"units": 1, "ends_on": "2026-05-01"}}
    assert [k for k, _ in wallets.ordered(lots, "expiring_first")] == ["a", "b"]


def test_a_deduction_empties_lots_in_order_and_takes_the_rest_from_the_next():
    assert wallets.take(LOTS, 250, TODAY, "expiring_first") == {"soon": -200, "early": -50}
    assert wallets.take(LOTS, 250, TODAY, "oldest_first") == {"early": -100, "late": -150}
    assert wallets.take(LOTS, 650, TODAY, "expiring_first") == {
        "soon": -200,
        "early": -100,
        "late": -300,
        "manual": -50,
    }
    assert wallets.take(LOTS, 0, TODAY, "expiring_first") == {}


def test_an_ended_lot_or_one_for_another_course_is_skipped_and_too_little_is_insufficient():
    lots = {
        "ended": {"units": 500, "ends_on": "2026-02-28"},
        "piano": {"units": 100, "ends_on": "2026-12-31", "courses": ["piano"]},
        "any": {"units": 100, "ends_on": "2027-12-31"},
    }
    assert wallets.available(lots, TODAY) == 200
    assert wallets.available(lots, TODAY, "lego") == 100
    assert wallets.take(lots, 150, TODAY, "expiring_first", "piano") == {"piano": -100, "any": -50}
    with pytest.raises(wallets.Insufficient) as refused:
        wallets.take(lots, 150, TODAY, "expiring_first", "lego")
    assert (refused.value.wanted, refused.value.available) == (150, 100)


def test_the_ended_lots_with_credits_left_are_written_off():
    lots = {"ended": {"units": 500, "ends_on": "2026-02-28"}, "empty": {"units": 0, "ends_on": "2026-01-01"}, **LOTS}
    assert wallets.expired(lots, TODAY) == {"ended": -500}


def test_apply_adds_the_changes_and_new_lots_without_touching_the_old_ones():
    after = wallets.apply(LOTS, {"soon": -200, "fresh": 100}, new={"fresh": {"units": 0, "ends_on": "2027-01-01"}})
    assert after["soon"]["units"] == 0 and after["fresh"] == {"units": 100, "ends_on": "2027-01-01"}
    assert LOTS["soon"]["units"] == 200


@pytest.mark.parametrize(
    ("value", "hundredths"),
    [("1", 100), ("0.5", 50), ("1.005", 101), ("1.004", 100), (Decimal("-2.5"), -250), (3, 300)],
)
def test_amounts_are_whole_hundredths_rounded_half_up(value, hundredths):
    assert wallets.units(value) == hundredths


def test_hundredths_read_back_as_two_place_decimals():
    assert str(wallets.decimal(150)) == "1.50" and str(wallets.decimal(None)) == "0.00"
    assert str(wallets.decimal(-5)) == "-0.05"


@given(
    lots=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.fixed_dictionaries(
            {
                "units": st.integers(0, 1000),
                "ends_on": st.sampled_from(["2026-01-01", "2026-06-30", "2027-01-01", None]),
            }
        ),
        max_size=4,
    ),
    wanted=st.integers(1, 3000),
    order=st.sampled_from(["expiring_first", "oldest_first"]),
)
def test_take_never_overdraws_a_lot_nor_touches_an_ended_one(lots, wanted, order):
    today = "2026-03-01"
    try:
        taken = wallets.take(lots, wanted, today, order)
    except wallets.Insufficient as exc:
        assert exc.available < wanted
        return
    assert -sum(taken.values()) == wanted
    for contract_id, delta in taken.items():
        assert 0 < -delta <= lots[contract_id]["units"]
        assert wallets.usable(lots[contract_id], today)

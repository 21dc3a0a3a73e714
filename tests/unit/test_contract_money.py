"""A contract's money state (chalicelib/domain/contracts.py) follows from its figures alone."""

from __future__ import annotations

import pytest

from chalicelib.domain import contracts


@pytest.mark.parametrize(
    ("net", "paid", "refunded", "state", "due"),
    [
        (1000, 0, 0, "unpaid", 1000),
        (1000, 200, 0, "partly_paid", 800),
        (1000, 1000, 0, "paid", 0),
        (0, 0, 0, "paid", 0),  # a free contract owes nothing
        (1000, 200, 100, "partly_refunded", 800),  # the audit's case: not `refunded`, 800 still due
        (1000, 200, 200, "partly_refunded", 800),  # every yuan paid came back, yet 800 is still due
        (1000, 1000, 400, "partly_refunded", 0),
        (1000, 1000, 1000, "refunded", 0),  # everything paid came back and nothing is due
    ],
)
def test_the_money_state_is_a_function_of_the_figures(net, paid, refunded, state, due):
    figures = contracts.Figures(net, paid, refunded)
    assert (contracts.money_state(figures), figures.due, figures.kept) == (state, due, paid - refunded)

"""Contracts, cards and the ledger."""

from __future__ import annotations

from datetime import datetime

from chalicelib.db.keys.base import due_pk, shard_of, stamp

# --- contracts, cards, the ledger --------------------------------------------------
# A contract and a card each have their own partition: the contract with its payments and
# refunds, the card with its ledger and history. Each learner's partition holds a link to
# every contract and card of theirs (CONTRACT#<id>, CARD#<id>), so the lead's one Query
# reads them too. Card numbers are claimed with a uniqueness item; a replaced number's
# claim stays forever, so it can never be issued again.
CONTRACT_SK = "CONTRACT"
CARD_SK = "CARD"
CONTRACT_LINK_PREFIX = "CONTRACT#"
CARD_LINK_PREFIX = "CARD#"
PAYMENT_PREFIX = "PAY#"
LEDGER_PREFIX = "LEDGER#"
HISTORY_PREFIX = "HIST#"


def contract_pk(tenant: str, contract_id: str) -> str:
    return f"T#{tenant}#CONTRACT#{contract_id}"


def contract_link_sk(contract_id: str) -> str:
    return f"CONTRACT#{contract_id}"


def members_of(tenant: str) -> str:
    """GSI1 (sparse): the contract links of every member, for greetings to all members."""
    return f"T#{tenant}#MEMBERS"


def contracts_in(tenant: str, month: str) -> str:
    """GSI1: contracts signed in a month (yyyy-mm, school time), by signing time."""
    return f"T#{tenant}#CONTRACTS#{month}"


def payment_sk(at: str | datetime, payment_id: str) -> str:
    return f"PAY#{stamp(at)}#{payment_id}"


def payments_in(tenant: str, month: str) -> str:
    """GSI1: payments and refunds of a month (yyyy-mm of the date paid), by date."""
    return f"T#{tenant}#PAYMENTS#{month}"


def card_pk(tenant: str, card_id: str) -> str:
    return f"T#{tenant}#CARD#{card_id}"


def card_link_sk(card_id: str) -> str:
    return f"CARD#{card_id}"


def card_alert_due(day: str, card_pk_value: str) -> tuple[str, str]:
    """DUE keys of a card to look at on a UTC date: low credits, or credits about to expire."""
    return due_pk("CARDALERT", day, shard_of(card_pk_value)), card_pk_value


def card_number_pk(tenant: str, number: str) -> str:
    return f"T#{tenant}#CARDNO#{number.upper()}"


def ledger_sk(at: str | datetime, entry_id: str) -> str:
    return f"LEDGER#{stamp(at)}#{entry_id}"

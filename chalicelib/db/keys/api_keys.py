"""Website integration: public API keys and rate windows."""

from __future__ import annotations

# --- website integration: public API keys and rate windows ---------------------------
# A public request carries only its key, so the key's lookup item lives in a platform
# partition named by the key's SHA-256 (never the key itself); the tenant's own listing
# item sits in the tenant partition. Rate windows are tenant-scoped counters with a TTL.
API_KEY_SK = "APIKEY"
API_KEY_PREFIX = "APIKEY#"


def api_key_lookup_pk(key_hash: str) -> str:
    """Platform partition: the tenant, campus and state of the key with this SHA-256."""
    return f"PLATFORM#APIKEY#{key_hash}"


def api_key_sk(key_id: str) -> str:
    """In the tenant partition: one of the school's keys, as its admins list it."""
    return f"APIKEY#{key_id}"


def rate_pk(tenant: str, what: str, who: str) -> str:
    """Requests of one key (`KEY`) or one source address (`IP`) to a school's public routes."""
    return f"T#{tenant}#RATE#{what}#{who}"

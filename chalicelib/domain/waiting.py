"""One run of a job over the work its index says is waiting (imports, handovers): each piece
in turn, one that breaks logged and counted without holding back the others (it stays under
its lease, so a later run takes it up again)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chalicelib.observability import logger


def run_each(
    waiting: Iterable[tuple[str, str]],
    run: Callable[[str, str], bool | None],
    *,
    tenant: str | None,
    what: str,
    logged_as: str,
) -> tuple[int, int, int]:
    """Runs `run(owner, id)` for every waiting (owner, id), of `tenant` only when given;
    returns how many finished (a true answer), how many have work left and how many broke
    (logged as "<what> broke", the id under `logged_as`)."""
    done = not_done = broken = 0
    for owner, item in list(waiting):
        if tenant is not None and owner != tenant:
            continue
        try:
            if run(owner, item):
                done += 1
            else:
                not_done += 1
        except Exception:  # noqa: BLE001 - one broken piece must not hold back the others
            logger.exception(f"{what} broke", extra={"tenant": owner, logged_as: item})
            broken += 1
    return done, not_done, broken

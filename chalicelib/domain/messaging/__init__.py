"""Sending SMS and e-mail: who receives what, when, and exactly how often.

A message is planned in full when it is created: each recipient's destination, its own
rendering, its SMS segments, or the reason it is skipped (no phone or e-mail, opted out, a
duplicate, today's marketing cap). Quiet hours move the send to the next allowed time.
Sending (`dispatch`) claims each recipient with a conditional write before calling the
provider, so a recipient is sent at most once however often a job is retried or however
many runs overlap. A provider failure that may pass is retried with back-off, up to three
attempts, and then recorded as failed with its reason; nothing is dropped silently.
"""

from __future__ import annotations

from chalicelib.domain.messaging.composing import enqueue, send
from chalicelib.domain.messaging.planning import Contexts, Plan, Target, destination, plan, quiet_until
from chalicelib.domain.messaging.reading import get_message, list_messages, outbox
from chalicelib.domain.messaging.sending import cancel, dispatch, run_due

__all__ = [
    "Contexts",
    "Plan",
    "Target",
    "cancel",
    "destination",
    "dispatch",
    "enqueue",
    "get_message",
    "list_messages",
    "outbox",
    "plan",
    "quiet_until",
    "run_due",
    "send",
]

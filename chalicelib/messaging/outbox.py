"""The outbox provider: stores what would be sent (local and dev stages).

`GET /outbox` reads it back, newest first, and the local event pump prints each entry as
it arrives on the table's stream. Entries expire after 30 days.
"""

from __future__ import annotations

from chalicelib.messaging.base import Outgoing


class OutboxProvider:
    name = "outbox"

    def send(self, message: Outgoing) -> str:
        from chalicelib.db import messaging as messaging_db
        from chalicelib.domain import clock, ids
        from chalicelib.messaging.segments import segments

        entry_id = ids.new_id()
        messaging_db.put_outbox(
            message.tenant,
            {
                "id": entry_id,
                "at": clock.iso(clock.now()),
                "channel": message.channel,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
                "html": message.html,
                "purpose": message.purpose,
                "reference": message.reference,
                "lead_id": message.lead_id,
                "segments": segments(message.body) if message.channel == "sms" else 0,
            },
        )
        return f"outbox-{entry_id}"

"""Staff leaving (离职交接) and employee records (员工档案), in the users partition."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.db.base import BaseItem

# what an offboarding counts, each ADDed in the very transaction that moves the item
OFFBOARDING_COUNTS = (
    "leads_handed_over",
    "leads_to_pool",
    "plans_handed_over",
    "plans_cancelled",
    "appointments_handed_over",
    "appointments_unassigned",
)


class OffboardingItem(BaseItem, discriminator="Offboarding"):
    """One user's leaving: who takes over, how far the handover is, what it moved. On DUE
    `OFFBOARD#queued` while work is left (`id` is the leaving user's id)."""

    id = UnicodeAttribute()
    user_name = UnicodeAttribute()
    handover_to = UnicodeAttribute(null=True)  # none: the public pool
    handover_to_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # queued, running, done
    started_by = UnicodeAttribute()
    started_by_name = UnicodeAttribute()
    created_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    lease_until = UnicodeAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)  # the run holding it: only it moves items or finishes
    runs = NumberAttribute(default=0)
    leads_handed_over = NumberAttribute(default=0)
    leads_to_pool = NumberAttribute(default=0)
    plans_handed_over = NumberAttribute(default=0)
    plans_cancelled = NumberAttribute(default=0)
    appointments_handed_over = NumberAttribute(default=0)
    appointments_unassigned = NumberAttribute(default=0)


class EmployeeRecordItem(BaseItem, discriminator="EmployeeRecord"):
    """员工档案: what only admins see of a member of staff (phone and e-mail stay on the user)."""

    id = UnicodeAttribute()
    hire_date = UnicodeAttribute(null=True)
    id_number = UnicodeAttribute(null=True)  # shown masked only
    notes = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()

"""Closed sets of values used across the model. The string values are stored in the database."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    CARE_WORKER = "care_worker"
    ADMINISTRATOR = "administrator"
    DISTRICT_LEAD = "district_lead"
    AUDITOR = "auditor"
    INSTALLER = "installer"
    # Users of the other parties (issue 15): they belong to a housing association or a partner
    # company (``employee.housing_association_id`` / ``partner_company_id``), never to a
    # district, and never hold a key to a home.
    ASSOCIATION_USER = "association_user"  # decides about its properties' entrances and gates
    PARTNER_ADMIN = "partner_admin"  # manages a partner company's staff and phones
    PARTNER_WORKER = "partner_worker"  # opens stairwell doors under agreements (key app only)


class EmployeeStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class PhoneStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"
    WIPED = "wiped"


class CitizenStatus(StrEnum):
    PENDING = "pending"  # consent given, installation not finished
    ACTIVE = "active"  # keys are issued for this citizen's doors
    PAUSED = "paused"  # e.g. in hospital: no keys, devices stay
    REMOVED = "removed"  # address removed from the solution


class DoorKind(StrEnum):
    HOME_LOCK = "home_lock"  # motor turner on the inside of the citizen's front door
    ENTRANCE_CONTROLLER = "entrance_controller"  # module in the stairwell door-phone system
    GATE_CONTROLLER = "gate_controller"  # module in the gate's door-phone system


class LockState(StrEnum):
    """The bolt as the door's last signed event shows it (Matter DoorLock ``LockState``, with
    an explicit ``unknown`` instead of a guess)."""

    LOCKED = "locked"
    UNLOCKED = "unlocked"
    JAMMED = "jammed"
    UNKNOWN = "unknown"  # a movement was cut off by a power loss


class DoorSensorState(StrEnum):
    """The door leaf as the door sensor reports it (Matter DoorLock ``DoorState``)."""

    CLOSED = "closed"
    OPEN = "open"
    AJAR = "ajar"  # open longer than the door's ajar limit
    FORCED_OPEN = "forced_open"  # opened while the bolt was locked


class DoorStatus(StrEnum):
    STOCK = "stock"
    INSTALLED = "installed"
    COMMISSIONED = "commissioned"
    ACTIVE = "active"
    FAULTY = "faulty"
    DECOMMISSIONED = "decommissioned"
    # Taken down and not fit to go back to stock (issue 16): it never comes back.
    SCRAPPED = "scrapped"


GONE_DOOR_STATUSES: Final = frozenset({DoorStatus.DECOMMISSIONED, DoorStatus.SCRAPPED})
"""A door in one of these is no longer at any door: it opens nothing, it has no place."""


class CredentialKind(StrEnum):
    HOME = "home"
    ENTRANCE = "entrance"
    GATE = "gate"


class SubjectType(StrEnum):
    EMPLOYEE = "employee"
    PARTNER_STAFF = "partner_staff"


class PartnerCategory(StrEnum):
    POST = "post"
    NEWSPAPER = "newspaper"
    PARCEL = "parcel"
    MEAL_BOX = "meal_box"
    PHARMACY = "pharmacy"
    ADVERTISING = "advertising"


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class PartnerPhoneStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    LOST = "lost"


class ErrandStatus(StrEnum):
    APPROVED = "approved"
    USED = "used"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class IssuerKeyPurpose(StrEnum):
    """What an issuer key signs. A home lock trusts only ``home_care`` keys; entrance and gate
    controllers also trust the ``partner`` key, for partner credentials and nothing else."""

    HOME_CARE = "home_care"  # every credential of the municipality's staff, time, denylist
    PARTNER = "partner"  # partner workers' stairwell credentials only


class IssuerKeyStatus(StrEnum):
    NEXT = "next"  # published to doors, not yet signing
    ACTIVE = "active"  # signs new credentials
    RETIRED = "retired"  # no longer trusted by doors


class PermissionStatus(StrEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class ConsentKind(StrEnum):
    INSTALLATION = "installation"
    RESTORATION = "restoration"


class ConsentGivenBy(StrEnum):
    CITIZEN = "citizen"
    RELATIVE = "relative"
    GUARDIAN = "guardian"


class ConsentMethod(StrEnum):
    """How the consent was given (issue 16)."""

    PAPER_SCANNED = "paper_scanned"  # signed on paper, scanned into the case file
    DIGITAL = "digital"  # signed digitally (MitID)
    POWER_OF_ATTORNEY = "power_of_attorney"  # by a relative holding a power of attorney


class WorkOrderKind(StrEnum):
    INSTALL = "install"
    RESTORE = "restore"
    SERVICE = "service"


class WorkOrderStatus(StrEnum):
    ORDERED = "ordered"
    SCHEDULED = "scheduled"
    DONE = "done"  # the installer has done it, with the checklist
    SIGNED_OFF = "signed_off"  # the office has checked and signed it off (it can be paid)
    CANCELLED = "cancelled"


OPEN_WORK_ORDER_STATUSES: Final = frozenset({WorkOrderStatus.ORDERED, WorkOrderStatus.SCHEDULED})
"""Orders still to be done at the door."""


class WorkOrderTrigger(StrEnum):
    """What made the order (issue 16)."""

    OFFICE = "office"  # the office created it
    LOW_BATTERY = "low_battery"  # a door reported a low battery
    CITIZEN_REMOVED = "citizen_removed"  # the citizen's address was removed
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the citizen withdrew the consent


class ServiceKind(StrEnum):
    """What a service order is for."""

    BATTERY = "battery"
    JAM = "jam"
    FIRMWARE = "firmware"


class AuditSource(StrEnum):
    DOOR = "door"  # signed, hash-chained event from a lock or controller
    APP = "app"  # event from the key app (login, wipe, refused at the door, ...)
    SERVER = "server"  # event the server itself records


class AuditAction(StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    REFUSED = "refused"
    RELAY_PULSED = "relay_pulsed"
    MANUAL_TURN = "manual_turn"
    AUTO_RELOCKED = "auto_relocked"
    JAMMED = "jammed"
    LOW_BATTERY = "low_battery"
    POWER_LOSS = "power_loss"
    TIME_SET = "time_set"
    DENYLIST_UPDATED = "denylist_updated"
    CONFIGURED = "configured"
    LOGIN = "login"
    LOGOUT = "logout"
    WIPED = "wiped"
    POWER_RESTORED = "power_restored"
    LOG_OVERFLOW = "log_overflow"
    RATE_LIMITED = "rate_limited"
    FORCED_OPEN = "forced_open"
    DOOR_AJAR = "door_ajar"
    DOOR_CLOSED = "door_closed"


class DenylistEntryKind(StrEnum):
    CREDENTIAL = "credential"  # one credential id
    DEVICE = "device"  # every credential bound to one phone key
    SUBJECT = "subject"  # every credential of one employee or partner person
    DOOR = "door"  # a withdrawn door (citizen removed): it refuses every non-installer key


class DenylistReason(StrEnum):
    PHONE_BLOCKED = "phone_blocked"
    PHONE_LOST = "phone_lost"
    EMPLOYEE_BLOCKED = "employee_blocked"
    CITIZEN_REMOVED = "citizen_removed"
    PARTNER_BLOCKED = "partner_blocked"
    EMERGENCY_KEY_REVOKED = "emergency_key_revoked"
    AGREEMENT_ENDED = "agreement_ended"


CREDENTIAL_KIND_FOR_DOOR: dict[DoorKind, CredentialKind] = {
    DoorKind.HOME_LOCK: CredentialKind.HOME,
    DoorKind.ENTRANCE_CONTROLLER: CredentialKind.ENTRANCE,
    DoorKind.GATE_CONTROLLER: CredentialKind.GATE,
}

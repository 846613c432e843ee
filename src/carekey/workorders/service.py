"""Work orders (issue 16): the office's orders to install, service and restore, and the
orders the system makes by itself (a removed citizen or a withdrawn consent: restore; a low
battery: a battery service).

The life of an order is the table ``TRANSITIONS``: ordered → scheduled → done → signed_off,
and cancelled from ordered or scheduled. A step from any other status is a 409 naming both.
The office (``MANAGE_WORK_ORDERS``) creates, assigns, schedules and cancels; the installer
assigned to the order (``WORK_ON_ORDERS``) records its completion with the checklist of its
kind (``CHECKLISTS``); the office signs a done order off (``SIGN_OFF_WORK_ORDERS``), never the
person who did the work. Every step writes a line to the log of administrative actions in the
caller's transaction. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from carekey.access import (
    Action,
    Actor,
    Scope,
    get_in_scope,
    get_installation_object,
    reach,
)
from carekey.audit.actions import record_admin_action
from carekey.consents import service as consents  # a module: consents imports us (revocation)
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.domain.paging import DEFAULT_PAGE_SIZE, Page
from carekey.domain.text import optional_text, required_text
from carekey.store import models as m
from carekey.store.paging import page_of
from carekey.webhooks import service as webhooks
from carekey.workorders import queries as sql
from carekey.workorders.queries import OrderFilter

__all__ = [
    "CHECKLISTS",
    "TRANSITIONS",
    "ChecklistItem",
    "NewOrder",
    "OrderFilter",
    "OrderRow",
    "assign_order",
    "cancel_order",
    "checklist_for",
    "complete_order",
    "create_order",
    "get_order",
    "list_installers",
    "list_orders",
    "open_order_at_door",
    "order_battery_service",
    "order_restore",
    "schedule_order",
    "sign_off_order",
]

S = e.WorkOrderStatus
RESTORE_NOTE = "Genetabler den oprindelige lås uden spor / restore the original lock"
BATTERY_NOTE = "Lavt batteri meldt af døren / low battery reported by the door"
MAX_ORE: Final = 100_000_000_00  # 100 million kroner: a typing error, not an order

TRANSITIONS: Final[dict[str, tuple[frozenset[S], S | None]]] = {
    # step: (the statuses it may start from, the status it leads to; None: unchanged)
    "assign": (frozenset({S.ORDERED, S.SCHEDULED}), None),
    "schedule": (frozenset({S.ORDERED, S.SCHEDULED}), S.SCHEDULED),
    "complete": (frozenset({S.ORDERED, S.SCHEDULED}), S.DONE),
    "sign_off": (frozenset({S.DONE}), S.SIGNED_OFF),
    "cancel": (frozenset({S.ORDERED, S.SCHEDULED}), S.CANCELLED),
}
"""The status transitions of a work order."""


@dataclass(frozen=True)
class ChecklistItem:
    """One thing the installer ticks off: its key, Danish and English label, and where it
    applies (None: every place; otherwise the door kinds)."""

    key: str
    da: str
    en: str
    only_for: frozenset[e.DoorKind] | None = None


_MODULES: Final = frozenset({e.DoorKind.ENTRANCE_CONTROLLER, e.DoorKind.GATE_CONTROLLER})
_HOME: Final = frozenset({e.DoorKind.HOME_LOCK})

CHECKLISTS: Final[dict[e.WorkOrderKind, tuple[ChecklistItem, ...]]] = {
    e.WorkOrderKind.INSTALL: (
        ChecklistItem("device_fitted", "Enheden er monteret", "The device is fitted"),
        ChecklistItem(
            "original_kept",
            "Den oprindelige cylinder er gemt",
            "The original cylinder is kept",
            _HOME,
        ),
        ChecklistItem(
            "wiring_connected",
            "Dørtelefonen er tilsluttet",
            "The door phone is connected",
            _MODULES,
        ),
        ChecklistItem("tested", "Åbning og låsning er afprøvet", "Opening and locking tested"),
    ),
    e.WorkOrderKind.RESTORE: (
        ChecklistItem(
            "cylinder_restored",
            "Den oprindelige cylinder og vrider er sat tilbage",
            "The original cylinder and thumb-turn are back",
            _HOME,
        ),
        ChecklistItem(
            "screw_holes", "Skruehullerne er som før", "The screw holes are as they were"
        ),
        ChecklistItem(
            "wiring_restored",
            "Dørtelefonens ledninger er genetableret",
            "The door-phone wiring is restored",
            _MODULES,
        ),
        ChecklistItem("device_removed", "Enheden er taget ned", "The device is taken down"),
    ),
    e.WorkOrderKind.SERVICE: (
        ChecklistItem("serviced", "Servicen er udført", "The service is done"),
        ChecklistItem("tested", "Åbning og låsning er afprøvet", "Opening and locking tested"),
    ),
}
"""What an installer ticks off per kind of order (a restore must have every item true)."""


def _place_kind(order: m.WorkOrder) -> e.DoorKind:
    if order.entrance_id is not None:
        return e.DoorKind.ENTRANCE_CONTROLLER
    if order.gate_id is not None:
        return e.DoorKind.GATE_CONTROLLER
    return e.DoorKind.HOME_LOCK


def checklist_for(order: m.WorkOrder) -> tuple[ChecklistItem, ...]:
    """The checklist items that apply to ``order`` (its kind and its place)."""
    place = _place_kind(order)
    return tuple(
        item for item in CHECKLISTS[order.kind] if item.only_for is None or place in item.only_for
    )


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    """An order with the names a list shows."""

    order: m.WorkOrder
    citizen_name: str | None
    installer_name: str | None
    door_serial: str | None
    performed_by_name: str | None = None
    signed_off_by_name: str | None = None


def _read_scope(actor: Actor) -> Scope:
    return reach(actor, Action.READ_INSTALLATIONS)


def _rows(db: Session, orders: list[m.WorkOrder]) -> list[OrderRow]:
    people = sql.names_of(
        db,
        [o.assigned_to_employee_id for o in orders]
        + [o.performed_by_employee_id for o in orders]
        + [o.signed_off_by_employee_id for o in orders],
    )
    citizens = sql.citizen_names(db, [o.citizen_id for o in orders])
    doors = sql.serials_of(db, [o.door_device_id for o in orders])

    def name(i: int | None, names: Mapping[int, str]) -> str | None:
        return names.get(i) if i is not None else None

    return [
        OrderRow(
            o,
            name(o.citizen_id, citizens),
            name(o.assigned_to_employee_id, people),
            name(o.door_device_id, doors),
            name(o.performed_by_employee_id, people),
            name(o.signed_off_by_employee_id, people),
        )
        for o in orders
    ]


def list_orders(
    db: Session,
    *,
    actor: Actor,
    filters: OrderFilter | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> Page[OrderRow]:
    """The orders the actor may see, newest first: the office all of its municipality (a lead
    their districts'), an installer only those assigned to them, an association the module
    orders on its own properties."""
    scope = _read_scope(actor)
    page = page_of(
        db,
        sql.orders(scope, filters or OrderFilter()),
        order_by=sql.BY_NEWEST,
        limit=limit,
        offset=offset,
    )
    return Page(_rows(db, page.items), page.total, page.limit, page.offset)


def get_order(db: Session, *, actor: Actor, order_id: int) -> OrderRow:
    """One order the actor may see (404 outside an installer's or an association's reach)."""
    order = get_installation_object(db, _read_scope(actor), m.WorkOrder, order_id)
    return _rows(db, [order])[0]


def open_order_at_door(db: Session, *, actor: Actor, door_id: int) -> m.WorkOrder | None:
    """The installer's own open order at a door (``WORK_ON_ORDERS``: assigned to the actor),
    if any: what lets an installer commission or service that door."""
    scope = reach(actor, Action.WORK_ON_ORDERS)
    return sql.open_order_at(db, scope, door_id)


def list_installers(db: Session, *, actor: Actor) -> list[m.Employee]:
    """The installers an order may be assigned to (for the office's form)."""
    scope = reach(actor, Action.MANAGE_WORK_ORDERS)
    return sql.installers(db, scope.municipality_id)


# --- the steps ---------------------------------------------------------------------------------


_STATUS_WORDS: Final[dict[str, tuple[str, str]]] = {
    S.ORDERED: ("bestilt", "ordered"),
    S.SCHEDULED: ("planlagt", "scheduled"),
    S.DONE: ("udført", "done"),
    S.SIGNED_OFF: ("godkendt", "signed off"),
    S.CANCELLED: ("annulleret", "cancelled"),
}
_STEP_WORDS: Final[dict[str, tuple[str, str]]] = {
    "assign": ("tildeles en montør", "be assigned"),
    "schedule": ("planlægges", "be scheduled"),
    "complete": ("meldes udført", "be reported done"),
    "sign_off": ("godkendes", "be signed off"),
    "cancel": ("annulleres", "be cancelled"),
}


def _step(order: m.WorkOrder, step: str) -> None:
    allowed_from, _to = TRANSITIONS[step]
    if order.status not in allowed_from:
        is_da, is_en = _STATUS_WORDS.get(order.status, (str(order.status), str(order.status)))
        step_da, step_en = _STEP_WORDS.get(step, (step, step))
        raise ConflictError(
            "work_order.wrong_status",
            f"Arbejdsordren er {is_da} og kan derfor ikke {step_da} nu. Genindlæs siden for "
            "at se ordrens status.",
            f"The work order is {is_en}, so it cannot {step_en} now. Reload the page to see "
            "its status.",
        )


def _advance(db: Session, order: m.WorkOrder, step: str, now: dt.datetime) -> None:
    _step(order, step)
    to = TRANSITIONS[step][1]
    if to is not None and to != order.status:
        before = order.status
        order.status = to
        webhooks.emit_work_order(db, order=order, now=now, previous_status=before.value)


def _log(
    db: Session,
    actor: Actor | None,
    order: m.WorkOrder,
    action: str,
    now: dt.datetime,
    *,
    reason: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    record_admin_action(
        db,
        actor=actor,
        municipality_id=order.municipality_id,
        action=f"work_order.{action}",
        target_type="work_order",
        target_id=order.id,
        now=now,
        reason=reason,
        details={"kind": order.kind.value, "status": order.status.value, **(details or {})},
    )


def _managed(db: Session, actor: Actor, order_id: int) -> m.WorkOrder:
    return get_installation_object(
        db, reach(actor, Action.MANAGE_WORK_ORDERS), m.WorkOrder, order_id
    )


@dataclass(frozen=True)
class NewOrder:
    """An order the office creates. A home lock's order names the citizen; a module's the
    entrance or the gate; a service names the door and the service kind (and may name the
    citizen)."""

    kind: e.WorkOrderKind
    citizen_id: int | None = None
    entrance_id: int | None = None
    gate_id: int | None = None
    door_id: int | None = None
    service_kind: e.ServiceKind | None = None
    notes: str | None = None


def _invalid(code: str, da: str, en: str) -> DomainError:
    return DomainError(f"work_order.{code}", da, en)


def _notes(value: str | None) -> str | None:
    return optional_text(
        value, max_length=2000, code="work_order.notes", what_da="Noten", what_en="notes"
    )


def create_order(db: Session, *, actor: Actor, new: NewOrder, now: dt.datetime) -> m.WorkOrder:
    """Create an order by the office.

    - install at a citizen's home: refused (``work_order.no_consent``) without a live consent;
    - install at an entrance or a gate: refused (``work_order.no_permission``) without the
      association's granted permission, which the order records;
    - service: a door and a service kind;
    - restore: the citizen's home lock is taken down and the original lock put back.
    """
    scope = reach(actor, Action.MANAGE_WORK_ORDERS)
    order = m.WorkOrder(
        municipality_id=scope.municipality_id,
        kind=new.kind,
        status=S.ORDERED,
        trigger=e.WorkOrderTrigger.OFFICE,
        created_by_employee_id=actor.employee_id,
        ordered_at=now,
        notes=_notes(new.notes),
        material_ore=0,
        labour_ore=0,
        cost_ore=0,
    )
    places = [p for p in (new.citizen_id, new.entrance_id, new.gate_id) if p is not None]
    if len(places) > 1:
        raise _invalid(
            "one_place",
            "Vælg én borger, én opgang eller én port",
            "Choose one citizen, one entrance or one gate",
        )
    if new.kind is not e.WorkOrderKind.SERVICE and new.service_kind is not None:
        raise _invalid(
            "service_kind", "Kun en service har en servicetype", "Only a service has a kind"
        )
    door: m.DoorDevice | None = None
    if new.door_id is not None:
        door = get_in_scope(db, scope, m.DoorDevice, new.door_id)
        order.door_device_id = door.id
        order.dwelling_id = door.dwelling_id
        order.entrance_id = door.entrance_id
        order.gate_id = door.gate_id
    if new.citizen_id is not None:
        citizen = get_in_scope(db, scope, m.Citizen, new.citizen_id)
        if citizen.dwelling_id is None:
            raise _invalid(
                "no_dwelling", "Borgeren har ingen adresse", "The citizen has no address"
            )
        order.citizen_id = citizen.id
        order.dwelling_id = citizen.dwelling_id
        order.entrance_id = order.gate_id = None
        consented = consents.has_consent(db, citizen_id=citizen.id)
        if new.kind is e.WorkOrderKind.INSTALL and not consented:
            raise _invalid(
                "no_consent",
                "Borgeren har ikke givet samtykke til installationen; registrér samtykket først",
                "The citizen has not consented to the installation; record the consent first",
            )
        if new.kind is e.WorkOrderKind.RESTORE and door is None:
            lock = sql.home_lock_of(db, citizen.dwelling_id)
            order.door_device_id = lock.id if lock else None
    elif new.entrance_id is not None or new.gate_id is not None:
        prop = (
            sql.property_of_entrance(db, new.entrance_id)
            if new.entrance_id is not None
            else sql.property_of_gate(db, new.gate_id or 0)
        )
        if prop is None or prop.municipality_id != scope.municipality_id:
            raise not_found("Stedet", "place")
        if not sql.property_in_reach(db, scope, prop.id):
            raise not_found("Stedet", "place")
        order.entrance_id, order.gate_id = new.entrance_id, new.gate_id
        if new.kind is e.WorkOrderKind.INSTALL:
            permission = consents.require_permission(
                db,
                municipality_id=scope.municipality_id,
                entrance_id=new.entrance_id,
                gate_id=new.gate_id,
            )
            order.permission_request_id = permission.id
    elif door is None:
        raise _invalid(
            "no_place",
            "Vælg en borger, en opgang, en port eller en dør",
            "Choose a citizen, an entrance, a gate or a door",
        )
    if new.kind is e.WorkOrderKind.SERVICE:
        if new.service_kind is None or door is None:
            raise _invalid(
                "service_needs_door",
                "En service kræver en dør og en servicetype",
                "A service needs a door and a service kind",
            )
        order.service_kind = new.service_kind
    if new.kind is e.WorkOrderKind.RESTORE and order.notes is None:
        order.notes = RESTORE_NOTE
    db.add(order)
    db.flush()
    _log(db, actor, order, "created", now)
    webhooks.emit_work_order(db, order=order, now=now)
    return order


def assign_order(
    db: Session,
    *,
    actor: Actor,
    order_id: int,
    installer_id: int | None,
    supplier: str | None,
    now: dt.datetime,
) -> m.WorkOrder:
    """Assign an open order to an installer of the municipality and/or a supplier by name."""
    order = _managed(db, actor, order_id)
    _step(order, "assign")
    supplier_name = optional_text(
        supplier,
        max_length=200,
        code="work_order.supplier",
        what_da="Leverandøren",
        what_en="supplier",
    )
    if installer_id is None and supplier_name is None:
        raise _invalid(
            "no_assignee",
            "Vælg en montør eller skriv en leverandør",
            "Choose an installer or name a supplier",
        )
    if installer_id is not None and not sql.is_installer(db, order.municipality_id, installer_id):
        raise _invalid(
            "not_an_installer",
            "Den valgte medarbejder er ikke montør i kommunen",
            "The chosen employee is not an installer of the municipality",
        )
    order.assigned_to_employee_id = installer_id
    order.supplier = supplier_name
    _log(
        db,
        actor,
        order,
        "assigned",
        now,
        details={"installer_id": installer_id, "supplier": supplier_name},
    )
    return order


def schedule_order(
    db: Session, *, actor: Actor, order_id: int, scheduled_for: dt.datetime, now: dt.datetime
) -> m.WorkOrder:
    """Give an open order its visit (status scheduled)."""
    order = _managed(db, actor, order_id)
    if scheduled_for.tzinfo is None:
        scheduled_for = scheduled_for.replace(tzinfo=dt.UTC)
    _advance(db, order, "schedule", now)
    order.scheduled_for = scheduled_for
    _log(db, actor, order, "scheduled", now, details={"scheduled_for": scheduled_for.isoformat()})
    return order


def _money(value: int, what_da: str, what_en: str) -> int:
    if not 0 <= value <= MAX_ORE:
        raise _invalid(
            "bad_amount",
            f"{what_da} skal være mellem 0 og 100 mio. kr.",
            f"The {what_en} must be between 0 and 100 million kroner",
        )
    return value


def missing_items(order: m.WorkOrder, checklist: Mapping[str, bool]) -> list[ChecklistItem]:
    """The checklist items not ticked off as true."""
    return [item for item in checklist_for(order) if checklist.get(item.key) is not True]


def complete_order(
    db: Session,
    *,
    actor: Actor,
    order_id: int,
    checklist: Mapping[str, bool],
    photo_ref: str | None,
    material_ore: int,
    labour_ore: int,
    notes: str | None,
    now: dt.datetime,
) -> m.WorkOrder:
    """The installer's record of the work done (status done): the checklist, a photo, the
    material and labour. Only the installer the order is assigned to (404 for another). A
    restore must have every item of its checklist true and a photo, else a refusal that names
    what is missing."""
    scope = reach(actor, Action.WORK_ON_ORDERS)
    order = get_installation_object(db, scope, m.WorkOrder, order_id)
    _step(order, "complete")
    unknown = sorted(set(checklist) - {i.key for i in CHECKLISTS[order.kind]})
    if unknown:
        raise _invalid(
            "unknown_item",
            f"Ukendte punkter på tjeklisten: {', '.join(unknown)}",
            f"Unknown checklist items: {', '.join(unknown)}",
        )
    photo = optional_text(
        photo_ref, max_length=200, code="work_order.photo", what_da="Fotoet", what_en="photo"
    )
    if order.kind is e.WorkOrderKind.RESTORE:
        missing = missing_items(order, checklist)
        names_da = [i.da for i in missing] + ([] if photo else ["et foto"])
        names_en = [i.en for i in missing] + ([] if photo else ["a photo"])
        if names_da:
            raise _invalid(
                "checklist_incomplete",
                "Genetableringen mangler: " + "; ".join(names_da),
                "The restore is missing: " + "; ".join(names_en),
            )
    material = _money(material_ore, "Materialer", "material")
    labour = _money(labour_ore, "Arbejdsløn", "labour")
    order.checklist = {k: bool(v) for k, v in checklist.items()}
    order.photo_ref = photo
    order.material_ore, order.labour_ore = material, labour
    order.cost_ore = material + labour
    extra = _notes(notes)
    if extra:
        order.notes = f"{order.notes}\n{extra}" if order.notes else extra
    order.completed_at = now
    order.performed_by_employee_id = actor.employee_id
    _advance(db, order, "complete", now)
    _log(
        db, actor, order, "completed", now, details={"cost_ore": order.cost_ore, "photo_ref": photo}
    )
    return order


def sign_off_order(db: Session, *, actor: Actor, order_id: int, now: dt.datetime) -> m.WorkOrder:
    """The office's check of a done order (then it is paid). The signer is never the person
    who did the work."""
    scope = reach(actor, Action.SIGN_OFF_WORK_ORDERS)
    order = get_installation_object(db, scope, m.WorkOrder, order_id)
    _step(order, "sign_off")
    if order.performed_by_employee_id == actor.employee_id:
        raise ConflictError(
            "work_order.own_work",
            "Den, der har udført arbejdet, kan ikke selv godkende det",
            "The person who did the work cannot sign it off",
        )
    _advance(db, order, "sign_off", now)
    order.signed_off_at = now
    order.signed_off_by_employee_id = actor.employee_id
    _log(db, actor, order, "signed_off", now, details={"cost_ore": order.cost_ore})
    return order


def cancel_order(
    db: Session, *, actor: Actor, order_id: int, reason: str, now: dt.datetime
) -> m.WorkOrder:
    """Cancel an open order, with a reason."""
    order = _managed(db, actor, order_id)
    why = required_text(
        reason, max_length=500, code="work_order.reason", what_da="Årsagen", what_en="reason"
    )
    _advance(db, order, "cancel", now)
    _log(db, actor, order, "cancelled", now, reason=why)
    return order


# --- orders the system makes -------------------------------------------------------------------


def order_restore(
    db: Session,
    *,
    citizen: m.Citizen,
    door: m.DoorDevice,
    trigger: e.WorkOrderTrigger,
    now: dt.datetime,
    created_by_employee_id: int | None = None,
) -> m.WorkOrder:
    """A restore order for the citizen's home lock: take the motor turner down, put the
    original cylinder and thumb-turn back, without traces."""
    order = m.WorkOrder(
        municipality_id=citizen.municipality_id,
        kind=e.WorkOrderKind.RESTORE,
        status=e.WorkOrderStatus.ORDERED,
        trigger=trigger,
        citizen_id=citizen.id,
        dwelling_id=citizen.dwelling_id,
        door_device_id=door.id,
        created_by_employee_id=created_by_employee_id,
        ordered_at=now,
        notes=RESTORE_NOTE,
    )
    db.add(order)
    db.flush()
    webhooks.emit_work_order(db, order=order, now=now)
    return order


def order_battery_service(
    db: Session, *, door: m.DoorDevice, now: dt.datetime
) -> m.WorkOrder | None:
    """A battery service order for a door that reported a low battery (trigger low_battery),
    unless the door already has an open one or is no longer at a door. Returns the new order
    (None: none was made)."""
    if door.status in e.GONE_DOOR_STATUSES or sql.open_battery_order(db, door.id) is not None:
        return None
    order = m.WorkOrder(
        municipality_id=door.municipality_id,
        kind=e.WorkOrderKind.SERVICE,
        service_kind=e.ServiceKind.BATTERY,
        status=S.ORDERED,
        trigger=e.WorkOrderTrigger.LOW_BATTERY,
        dwelling_id=door.dwelling_id,
        entrance_id=door.entrance_id,
        gate_id=door.gate_id,
        door_device_id=door.id,
        ordered_at=now,
        notes=BATTERY_NOTE,
        material_ore=0,
        labour_ore=0,
        cost_ore=0,
    )
    db.add(order)
    db.flush()
    _log(db, None, order, "created", now, details={"door": door.serial, "trigger": "low_battery"})
    webhooks.emit_work_order(db, order=order, now=now)
    return order

"""Tenant isolation: a municipality's administrator never sees or changes another municipality's
data, through any administration endpoint.

The routes are read from the application itself, so a new endpoint under ``/api/v1/admin``
fails ``test_every_admin_route_has_probes`` until it is given probes in ``PROBES`` below.
Each probe is a request Frederiksberg's administrator makes against Copenhagen's things (or with
Copenhagen's ids in the body): it must answer 404 or 403 and leave every table exactly as it
was. A list must not show a single row of Copenhagen. As a control, the same request made by
Copenhagen's own administrator succeeds (and, for a change, changes something), so a probe
cannot pass by being malformed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.config import Settings
from carekey.domain import enums as e
from carekey.emergency_keys import service as emergency
from carekey.revocation import service as revocation
from carekey.server.app import create_app
from carekey.store import models as m
from carekey.store.models import Base
from carekey.webhooks import service as webhooks
from tests.api.conftest import SECRET, START, Tenants, sign_in

ADMIN_PREFIX = "/api/v1/admin"
# Parts with an API of their own beside the administration's, probed the same way; their
# routes are keyed by the path below ``/api/v1`` (``/webhooks/...``).
OTHER_PREFIXES = ("/api/v1/webhooks",)
REFUSED = {403, 404}


@dataclass(frozen=True)
class Ids:
    """Copenhagen's things the probes aim at (``c_*``) and Frederiksberg's own (``f_*``)."""

    c_employee: int  # active care worker
    c_employee_to_block: int
    c_blocked_employee: int
    c_phone: int  # active, for reading, changing and enrolment codes
    c_phone_to_block: int
    c_blocked_phone: int
    c_district: int
    c_citizen: int  # active
    c_removed_citizen: int
    c_outside_citizen: int  # active, outside ``c_employee``'s districts: emergency-key target
    c_dwelling: int
    c_door: int
    c_grant: int  # live emergency key
    c_employee_name: str
    c_order: int  # open work orders (issue 16): to read, assign, schedule; to cancel
    c_order_to_cancel: int
    c_done_order: int  # done, not signed off
    c_consent: int  # a live consent of a citizen no other probe uses
    c_property: int
    c_permission: int
    c_subscription: int  # webhooks (issue 17): active, to read, rotate, disable
    c_paused_subscription: int  # to enable
    c_subscription_to_delete: int
    c_delivery: int  # failed, to read and replay
    f_municipality: int
    f_employee: int
    f_phone: int
    f_district: int
    f_citizen: int
    f_dwelling: int
    f_door: int


@dataclass(frozen=True)
class Probe:
    """One request and what must happen:

    - ``refused``: 404 or 403, and no table changes;
    - ``list``: 200, no row of Copenhagen in ``items``, and no table changes;
    - ``csv``: 200, none of Copenhagen's names in the file; only the caller's own log grows;
    - ``own``: 2xx, and only new rows of the caller's own municipality appear.

    ``control`` says whether Copenhagen's administrator may make the same request with success.
    """

    path: str
    body: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    control: bool = True
    expect: Literal["refused", "list", "csv", "own"] = "refused"


ProbeMaker = Callable[[Ids], list[Probe]]
REASON = {"reason": "test af kommuneadskillelse"}
ACCESS_PERIOD = {
    "basis": "attorney",
    "requested_by": "Søn",
    "from": "2026-01-01",
    "to": "2026-12-31",
}

# (method, route path) → probes. Probes with a Copenhagen id in the *body* against
# Frederiksberg's own things carry ``control=False``: Copenhagen's administrator would be
# refused as well, for Frederiksberg's half of the request.
PROBES: dict[tuple[str, str], ProbeMaker] = {
    # --- employees
    ("GET", "/employees"): lambda i: [
        Probe("/employees", expect="list", params={"limit": 200}),
        Probe("/employees", expect="list", params={"district_id": i.c_district}),
        Probe("/employees", expect="list", params={"q": "E000"}),
    ],
    ("POST", "/employees"): lambda i: [
        Probe(
            "/employees",
            body={
                "employee_number": "X1",
                "full_name": "Ny Medarbejder",
                "roles": ["care_worker"],
                "district_ids": [i.f_district, i.c_district],
            },
            control=False,
        )
    ],
    ("GET", "/employees/{employee_id}"): lambda i: [Probe(f"/employees/{i.c_employee}")],
    ("PATCH", "/employees/{employee_id}"): lambda i: [
        Probe(f"/employees/{i.c_employee}", body={"full_name": "Omdøbt", "email": None}),
        Probe(f"/employees/{i.f_employee}", body={"district_ids": [i.c_district]}, control=False),
    ],
    ("POST", "/employees/{employee_id}/block"): lambda i: [
        Probe(f"/employees/{i.c_employee_to_block}/block", body=REASON)
    ],
    ("POST", "/employees/{employee_id}/unblock"): lambda i: [
        Probe(f"/employees/{i.c_blocked_employee}/unblock", body=REASON)
    ],
    # --- phones
    ("GET", "/phones"): lambda i: [
        Probe("/phones", expect="list", params={"limit": 200}),
        Probe("/phones", expect="list", params={"employee_id": i.c_employee}),
    ],
    ("POST", "/phones"): lambda i: [
        Probe("/phones", body={"label": "FK-NY", "employee_id": i.c_employee}, control=False)
    ],
    ("GET", "/phones/{phone_id}"): lambda i: [Probe(f"/phones/{i.c_phone}")],
    ("PATCH", "/phones/{phone_id}"): lambda i: [
        Probe(f"/phones/{i.c_phone}", body={"label": "OMDØBT", "model": "Nokia"}),
        Probe(f"/phones/{i.f_phone}", body={"employee_id": i.c_employee}, control=False),
    ],
    ("POST", "/phones/{phone_id}/block"): lambda i: [
        Probe(f"/phones/{i.c_phone_to_block}/block", body={**REASON, "lost": True})
    ],
    ("POST", "/phones/{phone_id}/unblock"): lambda i: [
        Probe(f"/phones/{i.c_blocked_phone}/unblock", body=REASON)
    ],
    ("POST", "/phones/{phone_id}/enrolment-code"): lambda i: [
        Probe(f"/phones/{i.c_phone}/enrolment-code")
    ],
    # --- districts
    ("GET", "/districts"): lambda i: [Probe("/districts", expect="list")],
    ("POST", "/districts"): lambda i: [
        # Nothing foreign to name in a new district; it must land in the caller's municipality.
        Probe(
            "/districts",
            body={"code": "D02", "name": "Samme kode som i København"},
            expect="own",
            control=False,  # Copenhagen has D02 already: that is the point of this probe
        )
    ],
    ("GET", "/districts/{district_id}"): lambda i: [Probe(f"/districts/{i.c_district}")],
    ("PATCH", "/districts/{district_id}"): lambda i: [
        Probe(f"/districts/{i.c_district}", body={"name": "Omdøbt"})
    ],
    # --- citizens
    ("GET", "/citizens"): lambda i: [
        Probe("/citizens", expect="list", params={"limit": 200, "status": "active"}),
        Probe("/citizens", expect="list", params={"district_id": i.c_district}),
    ],
    ("POST", "/citizens"): lambda i: [
        Probe(
            "/citizens",
            body={"given_name": "Ny", "family_name": "Borger", "district_id": i.c_district},
            control=False,
        ),
        Probe(
            "/citizens",
            body={
                "given_name": "Ny",
                "family_name": "Borger",
                "district_id": i.f_district,
                "dwelling_id": i.c_dwelling,
            },
            control=False,
        ),
    ],
    ("GET", "/citizens/{citizen_id}"): lambda i: [Probe(f"/citizens/{i.c_citizen}")],
    ("PATCH", "/citizens/{citizen_id}"): lambda i: [
        Probe(f"/citizens/{i.c_citizen}", body={"family_name": "Omdøbt", "status": "paused"}),
        Probe(f"/citizens/{i.f_citizen}", body={"district_id": i.c_district}, control=False),
    ],
    ("POST", "/citizens/{citizen_id}/remove"): lambda i: [
        Probe(f"/citizens/{i.c_citizen}/remove", body=REASON)
    ],
    ("POST", "/citizens/{citizen_id}/restore"): lambda i: [
        Probe(f"/citizens/{i.c_removed_citizen}/restore", body=REASON)
    ],
    # --- doors
    ("GET", "/doors"): lambda i: [
        Probe("/doors", expect="list", params={"limit": 200}),
        Probe("/doors", expect="list", params={"low_battery": True, "kind": "home_lock"}),
    ],
    ("GET", "/doors/{door_id}"): lambda i: [Probe(f"/doors/{i.c_door}")],
    # --- emergency keys
    ("GET", "/emergency-keys"): lambda i: [
        Probe("/emergency-keys", expect="list", params={"state": "all"}),
        Probe("/emergency-keys", expect="list", params={"citizen_id": i.c_outside_citizen}),
    ],
    ("POST", "/emergency-keys"): lambda i: [
        Probe(
            "/emergency-keys",
            body={
                "employee_id": i.c_employee,
                "citizen_id": i.c_outside_citizen,
                "minutes": 60,
                **REASON,
            },
        ),
        Probe(
            "/emergency-keys",
            body={"employee_id": i.f_employee, "citizen_id": i.c_citizen, "minutes": 60, **REASON},
            control=False,
        ),
    ],
    ("GET", "/emergency-keys/{grant_id}"): lambda i: [Probe(f"/emergency-keys/{i.c_grant}")],
    ("POST", "/emergency-keys/{grant_id}/revoke"): lambda i: [
        Probe(f"/emergency-keys/{i.c_grant}/revoke", body=REASON)
    ],
    # --- the audit log (``api.audit``)
    ("GET", "/audit"): lambda i: [
        Probe("/audit", expect="list", params={"limit": 200}),
        Probe("/audit", expect="list", params={"employee_id": i.c_employee}),
        Probe("/audit", expect="list", params={"door_device_id": i.c_door}),
        Probe("/audit", expect="list", params={"citizen_id": i.c_citizen}),
    ],
    ("GET", "/audit.csv"): lambda i: [
        Probe("/audit.csv", expect="csv"),
        Probe("/audit.csv", expect="csv", params={"employee_id": i.c_employee}),
    ],
    # --- the installation lifecycle (issue 16)
    ("GET", "/work-orders"): lambda i: [
        Probe("/work-orders", expect="list", params={"limit": 200}),
        Probe("/work-orders", expect="list", params={"status": "ordered"}),
    ],
    ("GET", "/work-orders/{order_id}"): lambda i: [Probe(f"/work-orders/{i.c_order}")],
    ("POST", "/work-orders"): lambda i: [
        Probe(
            "/work-orders",
            body={"kind": "service", "door_id": i.c_door, "service_kind": "firmware"},
        ),
        Probe("/work-orders", body={"kind": "install", "citizen_id": i.c_citizen}, control=False),
    ],
    ("POST", "/work-orders/{order_id}/assign"): lambda i: [
        Probe(f"/work-orders/{i.c_order}/assign", body={"supplier": "Låsesmeden A/S"})
    ],
    ("POST", "/work-orders/{order_id}/schedule"): lambda i: [
        Probe(
            f"/work-orders/{i.c_order}/schedule",
            body={"scheduled_for": (START + dt.timedelta(days=2)).isoformat()},
        )
    ],
    # The work itself is the installer's: Copenhagen's administrator may not do it either.
    ("POST", "/work-orders/{order_id}/complete"): lambda i: [
        Probe(
            f"/work-orders/{i.c_order}/complete",
            body={"checklist": {"serviced": True, "tested": True}},
            control=False,
        )
    ],
    ("POST", "/work-orders/{order_id}/sign-off"): lambda i: [
        Probe(f"/work-orders/{i.c_done_order}/sign-off")
    ],
    ("POST", "/work-orders/{order_id}/cancel"): lambda i: [
        Probe(f"/work-orders/{i.c_order_to_cancel}/cancel", body=REASON)
    ],
    ("GET", "/costs"): lambda i: [
        Probe("/costs", expect="own", params={"group": group})
        for group in ("month", "district", "property", "citizen")
    ],
    ("GET", "/citizens/{citizen_id}/timeline"): lambda i: [
        Probe(f"/citizens/{i.c_citizen}/timeline")
    ],
    ("GET", "/properties/{property_id}/timeline"): lambda i: [
        Probe(f"/properties/{i.c_property}/timeline")
    ],
    ("GET", "/citizens/{citizen_id}/consents"): lambda i: [
        Probe(f"/citizens/{i.c_citizen}/consents")
    ],
    # Copenhagen's citizen has a live consent already: a second is a conflict for Copenhagen.
    ("POST", "/citizens/{citizen_id}/consents"): lambda i: [
        Probe(
            f"/citizens/{i.c_citizen}/consents",
            body={"method": "digital", "given_by": "citizen"},
            control=False,
        )
    ],
    ("POST", "/consents/{consent_id}/withdraw"): lambda i: [
        Probe(
            f"/consents/{i.c_consent}/withdraw",
            body={"withdrawn_by_name": "Borgeren selv", "note": "flytter"},
        )
    ],
    ("GET", "/permission-requests"): lambda i: [
        Probe("/permission-requests", expect="list", params={"limit": 200}),
    ],
    # The seed's properties have their permission already: a new request is Copenhagen's
    # conflict, and so is a reminder of a granted one.
    ("POST", "/permission-requests"): lambda i: [
        Probe("/permission-requests", body={"property_id": i.c_property}, control=False)
    ],
    ("POST", "/permission-requests/{request_id}/remind"): lambda i: [
        Probe(f"/permission-requests/{i.c_permission}/remind", control=False)
    ],
    # --- signed webhooks (issue 17): Frederiksberg's subscription is its own
    ("GET", "/webhooks/subscriptions"): lambda i: [
        Probe("/webhooks/subscriptions", expect="list"),
    ],
    ("POST", "/webhooks/subscriptions"): lambda i: [
        Probe(
            "/webhooks/subscriptions",
            body={"url": "https://hooks.example.invalid/f", "event_types": ["door.alarm"]},
            expect="own",
            control=False,
        )
    ],
    ("GET", "/webhooks/subscriptions/{subscription_id}"): lambda i: [
        Probe(f"/webhooks/subscriptions/{i.c_subscription}")
    ],
    ("POST", "/webhooks/subscriptions/{subscription_id}/rotate"): lambda i: [
        Probe(f"/webhooks/subscriptions/{i.c_subscription}/rotate")
    ],
    ("POST", "/webhooks/subscriptions/{subscription_id}/disable"): lambda i: [
        Probe(f"/webhooks/subscriptions/{i.c_subscription}/disable")
    ],
    ("POST", "/webhooks/subscriptions/{subscription_id}/enable"): lambda i: [
        Probe(f"/webhooks/subscriptions/{i.c_paused_subscription}/enable")
    ],
    ("DELETE", "/webhooks/subscriptions/{subscription_id}"): lambda i: [
        Probe(f"/webhooks/subscriptions/{i.c_subscription_to_delete}")
    ],
    ("GET", "/webhooks/deliveries"): lambda i: [
        Probe("/webhooks/deliveries", expect="list", params={"limit": 200}),
        Probe("/webhooks/deliveries", expect="list", params={"subscription_id": i.c_subscription}),
    ],
    ("GET", "/webhooks/deliveries/{delivery_id}"): lambda i: [
        Probe(f"/webhooks/deliveries/{i.c_delivery}")
    ],
    ("POST", "/webhooks/deliveries/{delivery_id}/replay"): lambda i: [
        Probe(f"/webhooks/deliveries/{i.c_delivery}/replay")
    ],
    # --- the log of administrative actions
    # --- accounts (issue 18): Copenhagen's employee's password and authenticator
    ("POST", "/employees/{employee_id}/one-time-password"): lambda i: [
        Probe(f"/employees/{i.c_employee}/one-time-password")
    ],
    ("POST", "/employees/{employee_id}/password-link"): lambda i: [
        Probe(f"/employees/{i.c_employee}/password-link")
    ],
    ("POST", "/employees/{employee_id}/totp-reset"): lambda i: [
        Probe(f"/employees/{i.c_employee}/totp-reset", body=REASON)
    ],
    # the right of access (issue 19): another municipality's citizen or employee is 404, and
    # nothing (not even the log of the report) is written
    ("GET", "/citizens/{citizen_id}/access-report"): lambda i: [
        Probe(f"/citizens/{i.c_citizen}/access-report", params=ACCESS_PERIOD),
        Probe(f"/citizens/{i.c_citizen}/access-report", params={**ACCESS_PERIOD, "format": "csv"}),
    ],
    ("GET", "/employees/{employee_id}/data-export"): lambda i: [
        Probe(f"/employees/{i.c_employee}/data-export")
    ],
    ("GET", "/actions"): lambda i: [
        Probe("/actions", expect="list", params={"limit": 200}),
        Probe(
            "/actions",
            expect="list",
            params={"target_type": "employee", "target_id": str(i.c_employee)},
        ),
    ],
}

# Which table a list endpoint reads, to check that none of Copenhagen's rows appear in it.
LISTED: dict[str, type[m.Base]] = {
    "/employees": m.Employee,
    "/phones": m.Phone,
    "/districts": m.District,
    "/citizens": m.Citizen,
    "/doors": m.DoorDevice,
    "/emergency-keys": m.EmergencyKeyGrant,
    "/actions": m.AdminAction,
    "/audit": m.AuditEvent,
    "/work-orders": m.WorkOrder,
    "/permission-requests": m.PermissionRequest,
    "/webhooks/subscriptions": m.WebhookSubscription,
    "/webhooks/deliveries": m.WebhookDelivery,
}


def admin_routes() -> set[tuple[str, str]]:
    """Every (method, path below the admin prefix) the application serves. FastAPI keeps
    included routers as wrappers in ``app.routes``; ``iter_route_contexts`` flattens them."""
    app = create_app(Settings(secret_key=SECRET))
    found = set()
    for route in iter_route_contexts(app.routes):
        path, methods = route.path or "", route.methods or set()
        if path.startswith(ADMIN_PREFIX):
            found |= {(method, path.removeprefix(ADMIN_PREFIX)) for method in methods}
        elif path.startswith(OTHER_PREFIXES):
            found |= {(method, path.removeprefix("/api/v1")) for method in methods}
    assert found, "no administration routes found: has FastAPI changed how it lists routes?"
    return {(method, path) for method, path in found if method not in {"HEAD", "OPTIONS"}}


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def _changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def _copenhagen_ids(engine: Engine, model: type[m.Base]) -> set[int]:
    with Session(engine) as session:
        column = model.__table__.c
        return set(session.execute(select(column.id).where(column.municipality_id == 1)).scalars())


def _prepare(engine: Engine, tenants: Tenants) -> Ids:
    """Give Copenhagen a blocked phone and employee, a removed citizen and a live emergency key,
    and a few admin actions, so that every probe has something real to aim at."""
    c_admin_actor = Actor(tenants.admin, 1, frozenset({e.Role.ADMINISTRATOR}), "Admin (E00001)")
    with Session(engine) as session, session.begin():
        workers = list(
            session.execute(
                select(m.Employee.id)
                .join(m.EmployeeRole)
                .where(m.Employee.municipality_id == 1)
                .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
                .where(m.Employee.id != tenants.worker)
                .order_by(m.Employee.id)
            ).scalars()
        )
        worker_districts = select(m.EmployeeDistrict.district_id).where(
            m.EmployeeDistrict.employee_id == tenants.worker
        )
        citizens = list(
            session.execute(
                select(m.Citizen)
                .where(m.Citizen.municipality_id == 1)
                .where(m.Citizen.district_id.in_(worker_districts))
                .order_by(m.Citizen.id)
            ).scalars()
        )
        outside = session.execute(
            select(m.Citizen.id)
            .where(m.Citizen.municipality_id == 1)
            .where(m.Citizen.district_id.not_in(worker_districts))
            .order_by(m.Citizen.id)
        ).scalars()
        outside_citizen, granted_citizen = outside.first(), citizens[2].id
        assert outside_citizen is not None
        blocked_employee, phone_to_block, blocked_phone = workers[0], workers[1], workers[2]
        employee_to_block = workers[3]
        revocation.block_employee(
            session, actor=c_admin_actor, employee_id=blocked_employee, reason="test", now=START
        )
        revocation.block_phone(
            session,
            actor=c_admin_actor,
            phone_id=blocked_phone,
            reason="test",
            lost=False,
            now=START,
        )
        revocation.remove_citizen(
            session, actor=c_admin_actor, citizen_id=citizens[1].id, reason="test", now=START
        )
        # An employee of another district holds a live emergency key to one of the citizens.
        grant = emergency.grant_emergency_key(
            session,
            actor=c_admin_actor,
            employee_id=_employee_outside(session, citizens[2].district_id),
            citizen_id=granted_citizen,
            reason="vikar",
            duration=dt.timedelta(hours=2),
            now=START,
        )
        # Something happened at Copenhagen's doors, for the audit log to hold.
        worker = session.get(m.Employee, tenants.worker)
        assert worker is not None
        session.add_all(
            m.AuditEvent(
                municipality_id=1,
                source=e.AuditSource.SERVER,
                action=action,
                employee_id=worker.id,
                phone_id=tenants.worker_phone,
                door_device_id=1,
                citizen_id=citizens[0].id,
                occurred_at=START,
                received_at=START,
            )
            for action in (e.AuditAction.LOGIN, e.AuditAction.UNLOCKED)
        )
        # Work orders at Copenhagen's first door: two open, one done (issue 16).
        orders = [
            m.WorkOrder(
                municipality_id=1,
                kind=e.WorkOrderKind.SERVICE,
                service_kind=e.ServiceKind.JAM,
                status=status,
                door_device_id=1,
                ordered_at=START,
                completed_at=START if status is e.WorkOrderStatus.DONE else None,
                performed_by_employee_id=worker.id if status is e.WorkOrderStatus.DONE else None,
            )
            for status in (
                e.WorkOrderStatus.ORDERED,
                e.WorkOrderStatus.ORDERED,
                e.WorkOrderStatus.DONE,
            )
        ]
        session.add_all(orders)
        session.flush()
        consent = session.execute(
            select(m.ConsentRecord.id)
            .where(m.ConsentRecord.citizen_id == citizens[3].id)
            .where(m.ConsentRecord.withdrawn_at.is_(None))
        ).scalar_one()
        dwelling = session.get(m.Dwelling, citizens[0].dwelling_id)
        assert dwelling is not None
        entrance = session.get(m.Entrance, dwelling.entrance_id)
        assert entrance is not None
        permission = session.execute(
            select(m.PermissionRequest.id).where(
                m.PermissionRequest.property_id == entrance.property_id
            )
        ).scalar_one()
        f_citizen = session.get(m.Citizen, tenants.other_citizen)
        assert f_citizen is not None
        assert f_citizen.dwelling_id is not None
        c_citizen = citizens[0]
        assert c_citizen.dwelling_id is not None
        hooks = _webhooks_of_copenhagen(session, c_admin_actor)
        return Ids(
            c_employee=tenants.worker,
            c_employee_to_block=employee_to_block,
            c_blocked_employee=blocked_employee,
            c_phone=tenants.worker_phone,
            c_phone_to_block=phone_to_block,
            c_blocked_phone=blocked_phone,
            c_district=c_citizen.district_id,
            c_citizen=c_citizen.id,
            c_removed_citizen=citizens[1].id,
            c_outside_citizen=outside_citizen,
            c_dwelling=c_citizen.dwelling_id,
            c_door=1,
            c_grant=grant.id,
            c_employee_name=worker.full_name,
            c_order=orders[0].id,
            c_order_to_cancel=orders[1].id,
            c_done_order=orders[2].id,
            c_consent=consent,
            c_property=entrance.property_id,
            c_permission=permission,
            c_subscription=hooks[0],
            c_paused_subscription=hooks[1],
            c_subscription_to_delete=hooks[2],
            c_delivery=hooks[3],
            f_municipality=f_citizen.municipality_id,
            f_employee=tenants.other_employee,
            f_phone=tenants.other_phone,
            f_district=tenants.other_district,
            f_citizen=f_citizen.id,
            f_dwelling=f_citizen.dwelling_id,
            f_door=tenants.other_door,
        )


def _webhooks_of_copenhagen(session: Session, actor: Actor) -> tuple[int, int, int, int]:
    """Three subscriptions of Copenhagen (active, paused, to delete) and a failed delivery (so
    no dispatcher would pick it up)."""
    made = [
        webhooks.create_subscription(
            session,
            actor=actor,
            url=f"https://hooks.example.invalid/{n}",
            event_types=[],
            server_secret=SECRET,
            now=START,
        )[0]
        for n in range(3)
    ]
    webhooks.set_active(session, actor=actor, subscription_id=made[1].id, active=False, now=START)
    webhooks.emit(
        session,
        municipality_id=1,
        event_type=webhooks.WebhookEventType.DOOR_ALARM,
        resource="door:probe",
        data={"alarm": "forced_open"},
        now=START,
    )
    delivery = session.execute(
        select(m.WebhookDelivery).where(m.WebhookDelivery.subscription_id == made[0].id)
    ).scalar_one()
    delivery.status = "failed"
    delivery.next_attempt_at = None
    session.flush()
    return made[0].id, made[1].id, made[2].id, delivery.id


def _employee_outside(session: Session, district_id: int) -> int:
    in_district = select(m.EmployeeDistrict.employee_id).where(
        m.EmployeeDistrict.district_id == district_id
    )
    employee_id = session.execute(
        select(m.Employee.id)
        .join(m.EmployeeRole)
        .where(m.Employee.municipality_id == 1)
        .where(m.EmployeeRole.role == e.Role.CARE_WORKER)
        .where(m.Employee.id.not_in(in_district))
        .order_by(m.Employee.id.desc())
    ).scalar()
    assert employee_id is not None
    return employee_id


def _call(
    client: TestClient, method: str, probe: Probe, headers: dict[str, str]
) -> Any:  # the httpx response
    prefix = "/api/v1" if probe.path.startswith("/webhooks") else ADMIN_PREFIX
    return client.request(
        method, prefix + probe.path, json=probe.body, params=probe.params, headers=headers
    )


def test_every_admin_route_has_probes() -> None:
    served = admin_routes()
    missing = sorted(served - PROBES.keys())
    assert not missing, f"administration routes without tenant-isolation probes: {missing}"
    stale = sorted(PROBES.keys() - served)
    assert not stale, f"probes for routes that no longer exist: {stale}"


@pytest.fixture
def ids(engine: Engine, tenants: Tenants) -> Ids:
    return _prepare(engine, tenants)


def test_another_municipalitys_administrator_is_refused_everywhere(
    client: TestClient, tenants: Tenants, engine: Engine, ids: Ids
) -> None:
    frederiksberg = sign_in(client, tenants.other_admin, engine)
    copenhagen = sign_in(client, tenants.admin, engine)
    foreign_rows = {path: _copenhagen_ids(engine, model) for path, model in LISTED.items()}
    assert all(foreign_rows.values()), "Copenhagen must have rows of every listed kind"
    controls: list[tuple[str, Probe]] = []
    for (method, route), make in sorted(PROBES.items()):
        for probe in make(ids):
            before = dump(engine)
            response = _call(client, method, probe, frederiksberg)
            label = f"{method} {probe.path} {probe.params or ''} {probe.body or ''}"
            after = dump(engine)
            if probe.expect == "refused":
                assert response.status_code in REFUSED, (label, response.text)
                assert response.json()["error"]["code"].endswith(("not_found", "forbidden"))
                assert _changed_tables(before, after) == [], label
            elif probe.expect == "list":
                assert response.status_code == 200, (label, response.text)
                body = response.json()
                items = body if isinstance(body, list) else body["items"]
                leaked = {item["id"] for item in items} & foreign_rows[route]
                assert not leaked, f"{label} shows Copenhagen's rows {sorted(leaked)}"
                assert _changed_tables(before, after) == [], label
            elif probe.expect == "csv":
                assert response.status_code == 200, (label, response.text)
                assert ids.c_employee_name not in response.text, label
                _assert_only_own_rows_added(before, after, ids.f_municipality, label)
            else:
                assert response.status_code in (200, 201), (label, response.text)
                _assert_only_own_rows_added(before, after, ids.f_municipality, label)
            if probe.control:
                controls.append((method, probe))

    # Control: Copenhagen's own administrator makes the same requests with success (a change
    # does change something, a list does show Copenhagen's rows), so the refusals above were
    # not flukes of a malformed probe.
    for method, probe in controls:
        before = dump(engine)
        response = _call(client, method, probe, copenhagen)
        label = f"control {method} {probe.path} {probe.params or ''}"
        assert response.status_code in (200, 201, 204), (label, response.text)
        if method != "GET":
            assert _changed_tables(before, dump(engine)), f"{label} changed nothing"
        elif probe.expect == "csv":
            assert ids.c_employee_name in response.text, label
        elif probe.expect == "list" and not probe.params:
            body = response.json()
            assert body if isinstance(body, list) else body["items"], label


def _assert_only_own_rows_added(
    before: dict[str, list[tuple[Any, ...]]],
    after: dict[str, list[tuple[Any, ...]]],
    municipality_id: int,
    label: str,
) -> None:
    """Between the dumps, rows were only added, and each belongs to ``municipality_id``."""
    for name in _changed_tables(before, after):
        table = Base.metadata.tables[name]
        added = [row for row in after[name] if row not in before[name]]
        removed = [row for row in before[name] if row not in after[name]]
        assert not removed, f"{label} changed or removed rows of {name}"
        column = list(table.columns.keys()).index("municipality_id")
        assert all(row[column] == municipality_id for row in added), f"{label} wrote to {name}"


def test_copenhagens_administrator_cannot_reach_frederiksberg(
    client: TestClient, tenants: Tenants, engine: Engine, ids: Ids
) -> None:
    copenhagen = sign_in(client, tenants.admin, engine)
    before = dump(engine)
    refused = [
        ("GET", f"/employees/{ids.f_employee}", None),
        ("PATCH", f"/employees/{ids.f_employee}", {"full_name": "X"}),
        ("GET", f"/phones/{ids.f_phone}", None),
        ("POST", f"/phones/{ids.f_phone}/block", REASON),
        ("PATCH", f"/districts/{ids.f_district}", {"name": "X"}),
        ("PATCH", f"/citizens/{ids.f_citizen}", {"given_name": "X"}),
        ("POST", f"/citizens/{ids.f_citizen}/remove", REASON),
        ("GET", f"/doors/{ids.f_door}", None),
        ("GET", f"/employees/{ids.f_employee}/data-export", None),
        (
            "GET",
            f"/citizens/{ids.f_citizen}/access-report?basis=citizen&from=2026-01-01&to=2026-01-31",
            None,
        ),
        (
            "POST",
            "/citizens",
            {
                "given_name": "A",
                "family_name": "B",
                "district_id": 1,
                "dwelling_id": ids.f_dwelling,
            },
        ),
    ]
    for method, path, body in refused:
        response = client.request(method, ADMIN_PREFIX + path, json=body, headers=copenhagen)
        assert response.status_code == 404, (method, path, response.text)
    assert _changed_tables(before, dump(engine)) == []
    frederiksberg_citizens = {ids.f_citizen}
    listed = client.get(
        f"{ADMIN_PREFIX}/citizens", params={"limit": 200}, headers=copenhagen
    ).json()
    assert listed["total"] == len(listed["items"])
    assert not {c["id"] for c in listed["items"]} & frederiksberg_citizens
    doors = client.get(f"{ADMIN_PREFIX}/doors", params={"limit": 200}, headers=copenhagen).json()
    assert ids.f_door not in {d["id"] for d in doors["items"]}

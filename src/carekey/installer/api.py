"""The installer's key-app endpoints (issue 16), under ``/api/v1/app/installer``.

Authenticated like the rest of the key app: the app session token of the phone (``Bearer``),
and for a credential also a fresh device proof signed by the enrolled phone's device key
(purpose ``installer``). Office tokens and cookies confer nothing here. The actor is the
session's employee with their roles: only an installer (``COMMISSION_DOORS``, their own
assigned orders) gets anything but 403/404/409. The order is named in the body (as the
other key-app routes name a door), not in the path.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.auth.service import actor_of
from carekey.http import deps
from carekey.http.deps import SessionDep
from carekey.installer import keys, service
from carekey.installer.schemas import (
    CommissionedOut,
    CommissionedRequest,
    CredentialRequest,
    DecommissionedOut,
    DecommissionedRequest,
    OrderOut,
    OrdersOut,
    TimeTokenOut,
    TimeTokenRequest,
)
from carekey.keyservice.app_session import AppSession, require_session, verify_device_proof
from carekey.keyservice.bundle import b64

router = APIRouter(prefix="/api/v1/app/installer", tags=["nøgle-app / key app"])

PROOF_PURPOSE = "installer"


def _token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(deps._bearer)],
) -> str:
    return deps.get_bearer(credentials)


BearerDep = Annotated[str, Depends(_token)]
NowDep = Annotated[dt.datetime, Depends(deps.get_now)]
SecretDep = Annotated[str, Depends(deps.get_secret)]


def _session(db: Session, token: str, secret: str, now: dt.datetime) -> tuple[AppSession, Actor]:
    session = require_session(db, token=token, secret=secret, now=now)
    return session, actor_of(db, session.employee)


@router.get("/orders", response_model=OrdersOut)
def orders(db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep) -> OrdersOut:
    """Mine arbejdsordrer, de åbne først / my work orders, open ones first."""
    _, actor = _session(db, token, secret, now)
    return OrdersOut(orders=[OrderOut.of(v) for v in service.assigned_orders(db, actor=actor)])


@router.post("/credential")
def credential(
    body: CredentialRequest, db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep
) -> dict[str, object]:
    """Nøglen til arbejdsordrens dør / the key to the work order's door (admin, installer)."""
    session, actor = _session(db, token, secret, now)
    phone = session.phone
    verify_device_proof(
        phone.id,
        phone.public_key,
        proof=body.proof(),
        purpose=PROOF_PURPOSE,
        secret=secret,
        now=now,
    )
    issued = keys.installer_credential(
        db,
        actor=actor,
        phone=phone,
        order_id=body.order_id,
        door_serial=body.door_serial,
        secret=secret,
        now=now,
    )
    return issued.to_json()


@router.post("/time-token", response_model=TimeTokenOut)
def time_token(
    body: TimeTokenRequest, db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep
) -> TimeTokenOut:
    """Tid til arbejdsordrens dør / time for the work order's door (bound to its challenge)."""
    _, actor = _session(db, token, secret, now)
    data = keys.installer_time_token(
        db,
        actor=actor,
        order_id=body.order_id,
        door_serial=body.door_serial,
        nonce=body.nonce,
        secret=secret,
        now=now,
    )
    return TimeTokenOut(time_token=b64(data))


@router.post("/commissioned", response_model=CommissionedOut)
def commissioned(
    body: CommissionedRequest,
    db: SessionDep,
    token: BearerDep,
    secret: SecretDep,
    now: NowDep,
) -> CommissionedOut:
    """Døren er sat op og prøvet / the door is installed, commissioned and tested."""
    _, actor = _session(db, token, secret, now)
    done = service.commission_for_order(
        db,
        actor=actor,
        order_id=body.order_id,
        door_serial=body.door_serial,
        public_key=body.public_key,
        firmware_version=body.firmware_version,
        test_receipts=body.test_receipts,
        now=now,
    )
    return CommissionedOut(**done.__dict__)


@router.post("/decommissioned", response_model=DecommissionedOut)
def decommissioned(
    body: DecommissionedRequest,
    db: SessionDep,
    token: BearerDep,
    secret: SecretDep,
    now: NowDep,
) -> DecommissionedOut:
    """Døren har glemt sine nøgler og er taget ned / the door forgot its keys and is down."""
    _, actor = _session(db, token, secret, now)
    done = service.decommission_for_order(
        db,
        actor=actor,
        order_id=body.order_id,
        decommission_receipt=body.receipt,
        disposition=body.disposition,
        now=now,
    )
    return DecommissionedOut(**done.__dict__)

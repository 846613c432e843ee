"""The heartbeat: every ≤ 60 s while online, the phone asks whether its keys are still good.

OK, REFRESH (the key set changed: fetch a new bundle) or WIPE (the phone or employee is
blocked, or the session is from before a block). Every answer carries the newest signed
denylist and a fresh time token, which the phone hands to the doors it touches.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.app_session import check_session, issue_challenge, record_contact
from carekey.keyservice.bundle import b64, door_digest
from carekey.keyservice.bundle_doors import current_doors
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as denylist_service
from carekey.store import models as m


class HeartbeatStatus:
    """What a heartbeat tells the phone to do."""

    OK = "OK"
    REFRESH = "REFRESH"
    WIPE = "WIPE"


def heartbeat(db: Session, *, token: str, secret: str, now: dt.datetime) -> dict[str, Any]:
    """OK, REFRESH (the key set changed) or WIPE (phone or employee blocked), with the newest
    denylist and a time token for the doors the phone will touch."""
    checked = check_session(db, token=token, secret=secret, now=now)
    if checked.session is None:
        return {"status": HeartbeatStatus.WIPE, "reason": checked.wipe_reason}
    employee, phone = checked.session.employee, checked.session.phone
    record_contact(phone, now)
    doors = current_doors(db, employee=employee, now=now)
    status = (
        HeartbeatStatus.OK if door_digest(doors) == phone.bundle_digest else HeartbeatStatus.REFRESH
    )
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=employee.municipality_id, secret=secret
    )
    version, snapshot = denylist_service.signed_snapshot(
        db, municipality_id=employee.municipality_id, issuer_key=issuer_key, now=now
    )
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    return {
        "status": status,
        "keys_valid_until": (phone.bundle_expires_at or checked.session.expires_at).isoformat(),
        "next_heartbeat_s": municipality.heartbeat_interval_s,
        "denylist": {"version": version, "snapshot": b64(snapshot) if snapshot else None},
        "time_token": b64(issue_time_token(issuer_key=issuer_key, now=now)),
        # The next bundle request can prove possession without fetching a challenge first.
        "next_challenge": issue_challenge(phone_id=phone.id, secret=secret, now=now)[0],
    }

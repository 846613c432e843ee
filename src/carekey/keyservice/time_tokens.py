"""Time for a door that lost its time (power loss): a time token bound to the door's own
challenge, the only kind such a door accepts. The phone must be online at the door."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.domain.errors import ConflictError, not_found
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice.app_session import require_session
from carekey.keyservice.bundle_doors import current_doors
from carekey.protocol.errors import ProtocolError
from carekey.protocol.timetoken import issue_time_token


def door_time_token(
    db: Session,
    *,
    token: str,
    door_id: str,
    nonce: bytes,
    secret: str,
    now: dt.datetime,
    correction: bool = False,
) -> bytes:
    """A challenge-bound time token for one door of the phone's bundle: the only kind of token a
    door that lost its time (power loss) accepts. Needs the phone to be online at the door.

    ``correction`` makes it the recovery token for a door that took a wrong time: it may set the
    door's clock back, to the server's own time (the phone cannot choose the time, so issuing it
    to any holder of the door's key is safe)."""
    session = require_session(db, token=token, secret=secret, now=now)
    if door_id.encode() not in {
        d.door_id for d in current_doors(db, employee=session.employee, now=now)
    }:
        raise not_found("Døren", "door")
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=session.employee.municipality_id, secret=secret
    )
    try:
        return issue_time_token(
            issuer_key=issuer_key,
            now=now,
            door_id=door_id.encode(),
            nonce=nonce,
            correction=correction,
        )
    except ProtocolError as exc:
        raise ConflictError(
            "time_token.bad_nonce",
            "Dørens udfordring er ugyldig",
            "The door's challenge is invalid",
        ) from exc

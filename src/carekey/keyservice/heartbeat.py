"""The heartbeat: every ≤ 60 s while online, the phone asks whether its keys are still good.

OK, REFRESH (the key set changed: fetch a new bundle) or WIPE (the phone or employee is
blocked, or the session is from before a block). Every OK or REFRESH answer carries a fresh
time token and proof of freshness, which the phone hands to the doors it touches, the key-app
policy, and the newest signed denylist as pieces — or ``null`` when the phone said it carries
that version already. A WIPE answer carries nothing else: no proof after a block.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.keyservice import issuer as issuer_service
from carekey.keyservice import partner_keys
from carekey.keyservice.app_session import check_session, issue_challenge, record_contact
from carekey.keyservice.bundle import b64, denylist_json, door_digest
from carekey.keyservice.bundle_doors import current_doors
from carekey.keyservice.freshness import issue_proof, needs_write, policy_of
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as denylist_service
from carekey.store import models as m


class HeartbeatStatus:
    """What a heartbeat tells the phone to do."""

    OK = "OK"
    REFRESH = "REFRESH"
    WIPE = "WIPE"


def heartbeat(
    db: Session,
    *,
    token: str,
    secret: str,
    now: dt.datetime,
    carried_version: int | None = None,
) -> dict[str, Any]:
    """OK, REFRESH (the key set changed) or WIPE (phone or employee blocked), with the newest
    denylist (``None`` when it is ``carried_version``, the version the phone carries), a time
    token and a proof of freshness for the doors the phone will touch."""
    checked = check_session(db, token=token, secret=secret, now=now)
    if checked.session is None:
        return {"status": HeartbeatStatus.WIPE, "reason": checked.wipe_reason}
    employee, phone = checked.session.employee, checked.session.phone
    company_id = employee.partner_company_id
    if company_id is not None and not partner_keys.company_active(db, company_id):
        # The municipality blocked the whole company: its workers' keys are denylisted.
        return {"status": HeartbeatStatus.WIPE, "reason": "company_blocked"}
    record_contact(phone, now)
    partner: dict[str, Any] | None = None
    if company_id is not None:
        grants = partner_keys.partner_grants(
            db,
            worker_id=employee.id,
            company_id=company_id,
            municipality_id=employee.municipality_id,
            now=now,
            until=phone.bundle_expires_at or checked.session.expires_at,
        )
        digest = partner_keys.grants_digest(grants)
        notices = partner_keys.blocked_notices(db, company_id=company_id, now=now)
        partner = {
            "company_id": company_id,
            "company_blocked": False,
            "blocked_by": [n.to_json() for n in notices],
        }
    else:
        digest = door_digest(current_doors(db, employee=employee, now=now))
    status = HeartbeatStatus.OK if digest == phone.bundle_digest else HeartbeatStatus.REFRESH
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=employee.municipality_id, secret=secret
    )
    denylist = denylist_service.signed_pieces(
        db, municipality_id=employee.municipality_id, issuer_key=issuer_key, now=now
    )
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    policy = policy_of(municipality)
    assert phone.public_key is not None  # an active session's phone is enrolled
    proof = issue_proof(
        issuer_key=issuer_key,
        public_key=phone.public_key,
        denylist_version=denylist.version,
        lifetime_s=policy.freshness_s,
        now=now,
    )
    if needs_write(phone.freshness_expires_at, proof):
        phone.freshness_expires_at = proof.expires_at
    carried = carried_version is not None and carried_version == denylist.version
    return {
        "status": status,
        "keys_valid_until": (phone.bundle_expires_at or checked.session.expires_at).isoformat(),
        "next_heartbeat_s": municipality.heartbeat_interval_s,
        "denylist": None if carried else denylist_json(denylist),
        "time_token": b64(issue_time_token(issuer_key=issuer_key, now=now)),
        "freshness": proof.to_json(),
        "policy": policy.to_json(),
        # The next bundle request can prove possession without fetching a challenge first.
        "next_challenge": issue_challenge(phone_id=phone.id, secret=secret, now=now)[0],
        **({"partner": partner} if partner is not None else {}),
    }

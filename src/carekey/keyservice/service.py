"""The key service's public use cases, re-exported for callers in other parts.

The code lives in modules named after what it is about; import from those:

| module | what |
|---|---|
| ``enrolment`` | one-time enrolment codes, a phone registering its device key |
| ``app_session`` | challenges and device proofs, app session tokens and their checks |
| ``login`` | login (password + device proof) and bundle refresh (session + device proof) |
| ``bundle`` | the key bundle and its JSON |
| ``bundle_doors`` | which doors an employee may open now |
| ``credentials`` | signing the bundle credential and emergency-key credentials |
| ``heartbeat`` | OK / REFRESH / WIPE |
| ``time_tokens`` | time for a door that lost its time |
| ``issuer`` | the municipality's issuer keys |
| ``queries`` | all SQL of the above |

This module holds no code of its own; nothing inside ``keyservice`` imports it.
"""

from __future__ import annotations

from carekey.keyservice.app_session import (
    CHALLENGE_LIFETIME,
    AppSession,
    DeviceProof,
    SessionCheck,
    check_session,
    issue_challenge,
    require_session,
)
from carekey.keyservice.bundle import LIVE_DOOR_STATUSES, BundleDoor, KeyBundle, b64, door_digest
from carekey.keyservice.bundle_doors import current_doors
from carekey.keyservice.credentials import subject_of
from carekey.keyservice.enrolment import (
    ENROLMENT_CODE_LIFETIME,
    EnrolledPhone,
    create_enrolment_code,
    enrol_phone,
)
from carekey.keyservice.heartbeat import HeartbeatStatus, heartbeat
from carekey.keyservice.login import LoginAttempt, build_bundle, login, refresh_bundle
from carekey.keyservice.time_tokens import door_time_token

__all__ = [
    "CHALLENGE_LIFETIME",
    "ENROLMENT_CODE_LIFETIME",
    "LIVE_DOOR_STATUSES",
    "AppSession",
    "BundleDoor",
    "DeviceProof",
    "EnrolledPhone",
    "HeartbeatStatus",
    "KeyBundle",
    "LoginAttempt",
    "SessionCheck",
    "b64",
    "build_bundle",
    "check_session",
    "create_enrolment_code",
    "current_doors",
    "door_digest",
    "door_time_token",
    "enrol_phone",
    "heartbeat",
    "issue_challenge",
    "login",
    "refresh_bundle",
    "require_session",
    "subject_of",
]

"""The door's own rules, beyond what :func:`~carekey.protocol.credential.verify_credential`
checks: the use counter, the checks repeated on later requests of a session, and the rules of
the commands' arguments.

These are functions of what the door holds (its flash, its clock) and what the phone presents;
they raise :class:`Refusal` with the code the firmware logs and returns.
:class:`~carekey.devices.firmware.DoorFirmware` calls them in the order its documentation gives.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Final, NamedTuple

from carekey.devices.flash import DoorConfig, SubjectCounters
from carekey.protocol.credential import Credential, Right, SubjectType
from carekey.protocol.denylist import DenylistState
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import Ed25519Public, IssuerKeyring, IssuerPublicKey
from carekey.protocol.partner import shared_kids
from carekey.protocol.timetoken import drift_tolerance
from carekey.protocol.windows import is_within, load_time_zone

MAX_TRACKED_SUBJECTS: Final = 512
MAX_AJAR_AFTER_S: Final = 86_400
"""The longest ajar limit CONFIGURE accepts (a day; 0 switches the alarm off)."""


class Refusal(Exception):  # noqa: N818 - a door's refusal is an outcome, not a program error
    """The door refuses: ``code`` goes into the signed REFUSED event and back to the phone;
    ``credential`` (when known) says whose request it was."""

    def __init__(self, code: str, credential: Credential | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.credential = credential


def is_admin(credential: Credential) -> bool:
    """Whether the credential carries the admin right (claim 9), needed for CONFIGURE."""
    return Right.ADMIN in credential.rights


def may_read_log(credential: Credential) -> bool:
    """Who may read a door's log (READ_EVENTS): the municipality's own employees and the
    installers and administrators (rights). A partner's key (post, newspapers, meal boxes)
    opens the stairwell and nothing more: the log is the building's whole care schedule.

    The other two rules of the same table: CONFIGURE needs the admin right (:func:`is_admin`,
    installers); the time may be brought by any authenticated key, a partner's too, because it
    is the issuer's, signed and bound to this door's challenge (or broadcast within the
    plausibility bound): the carrier is a courier and sets no time of its own."""
    return credential.subject_type is SubjectType.EMPLOYEE or bool(credential.rights)


def clock_tolerance(now: datetime | None, last_token_time: datetime | None) -> timedelta:
    """How far the door's clock may be off now: grows with the time since the last token."""
    since = now - last_token_time if now is not None and last_token_time is not None else None
    return drift_tolerance(since)


def accept_use(
    subjects: OrderedDict[str, SubjectCounters], credential: Credential, counter: int
) -> None:
    """The use counter: per subject the door keeps the highest (serial, counter) it accepted.

    An older serial is ``old_serial``; the same serial with a counter that did not increase is
    ``counter_not_increasing`` (a cloned credential and device key, or a replay). Accepted, the
    pair becomes the subject's new high-water mark; the door tracks at most
    :data:`MAX_TRACKED_SUBJECTS` subjects, forgetting the least recently seen.

    The serial rule of ``verify_credential`` needs the subject before decoding, so the door
    applies it here, together with the counter.
    """
    current = subjects.get(credential.subject)
    if current is not None:
        if credential.serial < current.serial:
            raise Refusal("old_serial", credential)
        if credential.serial == current.serial and counter <= current.counter:
            raise Refusal("counter_not_increasing", credential)
    subjects[credential.subject] = SubjectCounters(credential.serial, counter)
    subjects.move_to_end(credential.subject)
    while len(subjects) > MAX_TRACKED_SUBJECTS:
        subjects.popitem(last=False)


def recheck(
    credential: Credential,
    *,
    now: datetime | None,
    denylist: DenylistState,
    door_id: bytes,
    tolerance: timedelta,
) -> None:
    """A later request in the session: the rules that can change while a session is open.

    The phone may have piggybacked a denylist update or a time token on this request, and
    the session may have stayed connected past the credential's expiry or its window, so
    the denylist (credential, phone, subject, withdrawn door), expiry and windows are
    checked again, with the same tolerance as the first request.
    """
    if now is None:
        raise Refusal("time_unknown", credential)
    if denylist.blocks(credential):
        raise Refusal("denylisted", credential)
    if not credential.rights and denylist.blocks_door(door_id):
        raise Refusal("door_withdrawn", credential)
    if now - tolerance >= credential.expires:  # not ``expires + tolerance``: year 9999
        raise Refusal("expired", credential)
    if credential.windows:
        assert credential.time_zone is not None  # decode_credential guarantees the pair
        zone = load_time_zone(credential.time_zone)
        if not is_within(credential.windows, now, zone, tolerance):
            raise Refusal("outside_window", credential)


def read_events_range(
    args: dict[str, object] | object, credential: Credential | None
) -> tuple[int, int]:
    """READ_EVENTS' arguments: ``(from_seq, limit)``, by default ``(1, 64)``."""
    from_seq = args.get("from_seq", 1) if isinstance(args, dict) else 1
    limit = args.get("limit", 64) if isinstance(args, dict) else 64
    if (
        not isinstance(from_seq, int)
        or not isinstance(limit, int)
        or isinstance(from_seq, bool)
        or isinstance(limit, bool)
        or limit < 1
    ):
        raise Refusal("invalid_argument", credential)
    return from_seq, limit


class Configured(NamedTuple):
    """What CONFIGURE leaves a door with: settings, issuer keyring and partner keyring (None for
    a door that takes no partner keys, a home lock)."""

    config: DoorConfig
    keyring: IssuerKeyring
    partner_keyring: IssuerKeyring | None


def configuration(
    args: dict[str, object] | object,
    *,
    config: DoorConfig,
    keyring: IssuerKeyring,
    credential: Credential,
) -> tuple[DoorConfig, IssuerKeyring]:
    """CONFIGURE at a door without partner keys (a home lock): :func:`door_configuration` with
    ``partner_keyring=None``; the new settings and issuer keyring."""
    new = door_configuration(
        args, config=config, keyring=keyring, partner_keyring=None, credential=credential
    )
    return new.config, new.keyring


def door_configuration(
    args: dict[str, object] | object,
    *,
    config: DoorConfig,
    keyring: IssuerKeyring,
    partner_keyring: IssuerKeyring | None,
    credential: Credential,
) -> Configured:
    """What CONFIGURE asks for, checked as a whole: the new settings and keyrings.

    Every argument must be known and in range (``auto_relock_s`` 0-3600, ``relay_pulse_ms``
    100-30000, ``ajar_after_s`` 0-:data:`MAX_AJAR_AFTER_S`, whole numbers, not booleans), and at
    least one issuer key must stay active
    (an installer never locks every issuer out); otherwise nothing changes
    (``invalid_argument``, or the keyring's own refusal code).

    Partner issuer keys (:mod:`carekey.protocol.partner`): ``add_partner_issuer_key`` [issuer,
    32-byte public key] and ``retire_partner_issuer_key`` kid change ``partner_keyring``, on a
    controller only: a door given ``partner_keyring=None`` (a home lock) refuses both as
    ``not_supported``. No key id may end up in both keyrings (``invalid_argument``).
    """
    if not isinstance(args, dict) or not args:
        raise Refusal("invalid_argument", credential)
    auto_relock, pulse, ajar = config.auto_relock_s, config.relay_pulse_ms, config.ajar_after_s
    for key, value in args.items():
        if isinstance(value, bool):
            raise Refusal("invalid_argument", credential)
        if key == "auto_relock_s" and isinstance(value, int) and 0 <= value <= 3600:
            auto_relock = float(value)
        elif key == "relay_pulse_ms" and isinstance(value, int) and 100 <= value <= 30000:
            pulse = value
        elif key == "ajar_after_s" and isinstance(value, int) and 0 <= value <= MAX_AJAR_AFTER_S:
            ajar = float(value)
        elif key == "add_issuer_key" and _is_key_pair(value):
            assert isinstance(value, list)
            try:
                keyring = keyring.with_active(IssuerPublicKey(value[0], Ed25519Public(value[1])))
            except ProtocolError as error:
                raise Refusal(error.code, credential) from None
        elif key == "retire_issuer_key" and isinstance(value, bytes):
            try:
                keyring = keyring.with_retired(value)
            except ProtocolError as error:
                raise Refusal(error.code, credential) from None
        elif key in ("add_partner_issuer_key", "retire_partner_issuer_key"):
            partner_keyring = _partner_change(partner_keyring, key, value, credential)
        else:
            raise Refusal("invalid_argument", credential)
    if not keyring.active:
        raise Refusal("invalid_argument", credential)
    if partner_keyring is not None and shared_kids(keyring, partner_keyring):
        raise Refusal("invalid_argument", credential)
    new = dataclasses.replace(
        config, auto_relock_s=auto_relock, relay_pulse_ms=pulse, ajar_after_s=ajar
    )
    return Configured(new, keyring, partner_keyring)


def _partner_change(
    partner_keyring: IssuerKeyring | None, key: str, value: object, credential: Credential
) -> IssuerKeyring:
    """One partner-key argument of CONFIGURE applied to ``partner_keyring``, or the refusal."""
    if partner_keyring is None:
        raise Refusal("not_supported", credential)
    try:
        if key == "add_partner_issuer_key" and _is_key_pair(value):
            assert isinstance(value, list)
            return partner_keyring.with_active(IssuerPublicKey(value[0], Ed25519Public(value[1])))
        if key == "retire_partner_issuer_key" and isinstance(value, bytes):
            return partner_keyring.with_retired(value)
    except ProtocolError as error:
        raise Refusal(error.code, credential) from None
    raise Refusal("invalid_argument", credential)


def _is_key_pair(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], bytes)
        and len(value[1]) == 32
    )

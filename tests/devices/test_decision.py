"""The door's own rules as functions of what it holds: the use counter, the subject table's
bound, and CONFIGURE checked as a whole. The same rules at a real door, over the radio, are in
``test_homelock.py`` and the attack suites."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import OrderedDict

import pytest

from carekey.devices.decision import (
    MAX_TRACKED_SUBJECTS,
    Refusal,
    accept_use,
    configuration,
    read_events_range,
)
from carekey.devices.flash import DoorConfig, SubjectCounters
from carekey.protocol.credential import Credential, decode_credential
from carekey.protocol.keys import IssuerKey
from carekey.sim.testbed import Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


def _credential(bed: Testbed, subject: str, serial: int) -> Credential:
    raw = bed.credential(bed.phone(subject), b"HL-1", serial=serial)
    return decode_credential(raw, keyring=bed.keyring)


def test_the_use_counter_only_moves_forward(bed: Testbed) -> None:
    subjects: OrderedDict[str, SubjectCounters] = OrderedDict()
    accept_use(subjects, _credential(bed, "mette", 5), 10)
    with pytest.raises(Refusal) as replay:
        accept_use(subjects, _credential(bed, "mette", 5), 10)
    assert replay.value.code == "counter_not_increasing"
    assert replay.value.credential is not None
    assert replay.value.credential.subject == "mette"
    with pytest.raises(Refusal) as old:
        accept_use(subjects, _credential(bed, "mette", 4), 99)
    assert old.value.code == "old_serial"
    # A newer credential starts its own count: a lower counter is fine with a higher serial.
    accept_use(subjects, _credential(bed, "mette", 6), 1)
    assert subjects["mette"] == SubjectCounters(6, 1)


def test_the_subject_table_forgets_the_least_recently_seen(bed: Testbed) -> None:
    subjects: OrderedDict[str, SubjectCounters] = OrderedDict(
        (f"s{i}", SubjectCounters(1, 1)) for i in range(MAX_TRACKED_SUBJECTS)
    )
    accept_use(subjects, _credential(bed, "s0", 1), 2)  # s0 is seen again: now the newest
    accept_use(subjects, _credential(bed, "new", 1), 1)
    assert len(subjects) == MAX_TRACKED_SUBJECTS
    assert "s1" not in subjects
    assert list(subjects)[-2:] == ["s0", "new"]


def test_configure_is_checked_as_a_whole(bed: Testbed) -> None:
    credential = _credential(bed, "installer", 1)
    config = DoorConfig()
    before = dataclasses.replace(config)
    with pytest.raises(Refusal) as refused:
        configuration(
            {"auto_relock_s": 30, "relay_pulse_ms": 10},
            config=config,
            keyring=bed.keyring,
            credential=credential,
        )
    assert refused.value.code == "invalid_argument"
    assert config == before
    new, keyring = configuration(
        {"auto_relock_s": 30, "relay_pulse_ms": 500},
        config=config,
        keyring=bed.keyring,
        credential=credential,
    )
    assert new == DoorConfig(auto_relock_s=30.0, relay_pulse_ms=500)
    assert keyring == bed.keyring


def test_configure_never_retires_the_last_issuer_key(bed: Testbed) -> None:
    credential = _credential(bed, "installer", 1)
    with pytest.raises(Refusal) as refused:
        configuration(
            {"retire_issuer_key": bed.issuer_key.public.kid},
            config=DoorConfig(),
            keyring=bed.keyring,
            credential=credential,
        )
    assert refused.value.code == "invalid_argument"
    successor = IssuerKey.generate("101").public
    _, keyring = configuration(
        {
            "add_issuer_key": [successor.issuer, successor.key.raw],
            "retire_issuer_key": bed.issuer_key.public.kid,
        },
        config=DoorConfig(),
        keyring=bed.keyring,
        credential=credential,
    )
    assert successor.kid in {key.kid for key in keyring.active}


@pytest.mark.parametrize(
    "args",
    [{"from_seq": True}, {"limit": 0}, {"limit": "64"}, {"from_seq": 1.5}],
    ids=repr,
)
def test_read_events_arguments_must_be_plain_integers(args: dict[str, object]) -> None:
    with pytest.raises(Refusal) as refused:
        read_events_range(args, None)
    assert refused.value.code == "invalid_argument"
    assert read_events_range({}, None) == (1, 64)
    assert read_events_range(None, None) == (1, 64)
    assert read_events_range({"from_seq": 7, "limit": 3}, None) == (7, 3)

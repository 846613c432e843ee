"""A bench of one municipality: an issuer, doors and phones wired together over in-memory links.

Tests, the whole-day simulation and the protocol benchmark build their worlds with it, so they
exercise the same code paths. Everything is generated fresh (keys from the OS CSPRNG); time comes
from the injected clock.

Besides the issuer key the bench has a partner issuer key (``partner_key``,
:mod:`carekey.protocol.partner`): its entrances and gates trust it, its home locks never do, and
:meth:`Testbed.partner_credential` signs a partner's stairwell key with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from carekey.clock import FrozenClock
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.flash import DoorConfig
from carekey.devices.homelock import HomeLock
from carekey.devices.limits import FailureLimiter
from carekey.link.catchup import CarriedDenylist
from carekey.link.driver import DoorEntry, PhoneDriver, VisitResult
from carekey.link.transport import BluetoothLink
from carekey.protocol.credential import DoorKind, Right, SubjectType, issue_credential
from carekey.protocol.denylist import (
    DenylistEntry,
    issue_denylist_delta,
    issue_denylist_pieces,
    issue_denylist_snapshot,
)
from carekey.protocol.freshness import DEFAULT_FRESHNESS_LIFETIME, issue_freshness
from carekey.protocol.keys import DeviceKey, DeviceSigner, DoorKey, IssuerKey, IssuerKeyring
from carekey.protocol.session import Command
from carekey.protocol.timetoken import issue_time_token
from carekey.protocol.windows import TimeWindow

_D = TypeVar("_D", bound=DoorFirmware)


@dataclass(slots=True)
class Phone:
    """A work phone: its device key, its driver and the credentials it carries, by door id."""

    driver: PhoneDriver
    subject: str
    credentials: dict[bytes, bytes] = field(default_factory=dict)
    renewed: bool = True
    """While True the phone's proof of freshness is renewed at every visit (it just checked in);
    :meth:`Testbed.stop_renewing` models a blocked phone whose last proof runs out."""
    proof: bytes | None = None

    @property
    def device_key(self) -> DeviceSigner:
        """The phone's P-256 device key."""
        return self.driver.device_key


class Testbed:
    """One issuer, any number of doors and phones, and a frozen clock to move."""

    __test__ = False  # not a pytest test class

    _carried: CarriedDenylist | None

    def __init__(self, *, start: datetime, issuer: str = "101") -> None:
        self.clock = FrozenClock(start)
        self.issuer_key = IssuerKey.generate(issuer)
        self.keyring = IssuerKeyring.of([self.issuer_key.public])
        self.partner_key = IssuerKey.generate(issuer)
        self.partner_keyring = IssuerKeyring.of([self.partner_key.public])
        self.denylist_version = 0
        self.denylist_entries: list[DenylistEntry] = []
        self._serials: dict[str, int] = {}
        self.links: dict[bytes, BluetoothLink] = {}
        self.freshness_lifetime = DEFAULT_FRESHNESS_LIFETIME
        self._carried = None

    # --- doors ---

    def home_lock(
        self,
        door_id: bytes = b"home-0001",
        *,
        drift_ppm: float = 0.0,
        config: DoorConfig | None = None,
        ring_size: int = 256,
        limiter: FailureLimiter | None = None,
        synced: bool = True,
        mtu: int = 247,
        loss_rate: float = 0.0,
        seed: int = 0,
    ) -> HomeLock:
        """A home lock, installed and (unless ``synced`` is False) given the time, reached
        over a link with the given ATT MTU and packet loss."""
        lock = HomeLock(
            door_id=door_id,
            door_key=DoorKey.generate(),
            keyring=self.keyring,
            clock=self.clock,
            drift_ppm=drift_ppm,
            config=config,
            ring_size=ring_size,
            limiter=limiter,
            mtu=mtu,
        )
        self._install(lock, synced=synced)
        self.links[lock.door_id] = BluetoothLink(lock, mtu=mtu, loss_rate=loss_rate, seed=seed)
        return lock

    def controller(
        self,
        door_id: bytes = b"entrance-0001",
        *,
        kind: DoorKind = DoorKind.ENTRANCE,
        groups: Iterable[bytes] = (),
    ) -> EntranceController:
        """An entrance or gate controller; it trusts the partner issuer key too."""
        controller = EntranceController(
            door_id=door_id,
            door_key=DoorKey.generate(),
            keyring=self.keyring,
            clock=self.clock,
            door_groups=groups,
            kind=kind,
            partner_keyring=self.partner_keyring,
        )
        return self._install(controller, synced=True)

    def _install(self, door: _D, *, synced: bool) -> _D:
        if synced:
            # Commissioning: the installer's phone sets the time (as a challenge-free token
            # accepted once at installation).
            door.clock.set(self.clock.now())
            door.flash.last_token_time = self.clock.now()
        self.links[door.door_id] = BluetoothLink(door)
        return door

    # --- server side ---

    def next_serial(self, subject: str) -> int:
        """The next credential serial for ``subject`` (monotonic, as the server keeps it)."""
        self._serials[subject] = self._serials.get(subject, 0) + 1
        return self._serials[subject]

    def credential(
        self,
        phone: Phone,
        *doors: bytes,
        kinds: Iterable[DoorKind] = (DoorKind.HOME,),
        subject_type: SubjectType = SubjectType.EMPLOYEE,
        valid_for: timedelta = timedelta(hours=8),
        not_before: datetime | None = None,
        admin: bool = False,
        serial: int | None = None,
        groups: Iterable[bytes] = (),
    ) -> bytes:
        """Issue a credential to ``phone`` for ``doors`` and store it in the phone's bundle."""
        start = not_before or self.clock.now() - timedelta(minutes=5)
        raw = issue_credential(
            issuer_key=self.issuer_key,
            subject=phone.subject,
            subject_type=subject_type,
            device_key=phone.device_key.public,
            kinds=kinds,
            not_before=start,
            expires=start + valid_for,
            serial=self.next_serial(phone.subject) if serial is None else serial,
            denylist_version=self.denylist_version,
            doors=doors,
            door_groups=list(groups),
            rights=[Right.ADMIN, Right.INSTALLER] if admin else [],
        )
        for door in doors:
            phone.credentials[door] = raw
        return raw

    def partner_credential(
        self,
        phone: Phone,
        *doors: bytes,
        kinds: Iterable[DoorKind] = (DoorKind.ENTRANCE, DoorKind.GATE),
        windows: Iterable[TimeWindow] = (),
        time_zone: str = "Europe/Copenhagen",
        valid_for: timedelta = timedelta(hours=8),
        not_before: datetime | None = None,
        groups: Iterable[bytes] = (),
        store_for: Iterable[bytes] = (),
    ) -> bytes:
        """Issue a partner's stairwell key, signed by the partner issuer key, for ``doors`` and
        ``groups``, with weekly ``windows`` in ``time_zone`` (none: any time of its validity);
        store it in the phone's bundle for ``doors`` and ``store_for``."""
        start = not_before or self.clock.now() - timedelta(minutes=5)
        window_list = list(windows)
        raw = issue_credential(
            issuer_key=self.partner_key,
            subject=phone.subject,
            subject_type=SubjectType.PARTNER,
            device_key=phone.device_key.public,
            kinds=kinds,
            not_before=start,
            expires=start + valid_for,
            serial=self.next_serial(phone.subject),
            denylist_version=self.denylist_version,
            doors=doors,
            door_groups=list(groups),
            windows=window_list,
            time_zone=time_zone if window_list else None,
        )
        for door in (*doors, *store_for):
            phone.credentials[door] = raw
        return raw

    def time_token(self, door_id: bytes | None = None, nonce: bytes | None = None) -> bytes:
        """A time token signed now (challenge form when ``nonce`` is given)."""
        return issue_time_token(
            issuer_key=self.issuer_key, now=self.clock.now(), door_id=door_id, nonce=nonce
        )

    def freshness(self, phone: Phone, *, denylist_version: int | None = None) -> bytes:
        """A proof of freshness for ``phone`` signed now (as a heartbeat would give it)."""
        return issue_freshness(
            issuer_key=self.issuer_key,
            device_key_id=phone.device_key.public.key_id,
            denylist_version=self.denylist_version
            if denylist_version is None
            else denylist_version,
            now=self.clock.now(),
            lifetime=self.freshness_lifetime,
        )

    def stop_renewing(self, phone: Phone) -> None:
        """The server stops renewing ``phone``'s proof (it was blocked): it keeps its last one."""
        if phone.proof is None:
            phone.proof = self.freshness(phone)
        phone.renewed = False

    def block(self, entry: DenylistEntry) -> None:
        """Add a denylist entry (a new version)."""
        self.denylist_entries.append(entry)
        self.denylist_version += 1

    def denylist_for(self, door_version: int) -> bytes | None:
        """What a phone carries to a door at ``door_version``: a delta or a snapshot."""
        if door_version >= self.denylist_version:
            return None
        if door_version == self.denylist_version - 1 and door_version > 0:
            return issue_denylist_delta(
                issuer_key=self.issuer_key,
                base_version=door_version,
                version=self.denylist_version,
                added=self.denylist_entries[-1:],
                now=self.clock.now(),
            )
        return issue_denylist_snapshot(
            issuer_key=self.issuer_key,
            version=self.denylist_version,
            entries=self.denylist_entries,
            now=self.clock.now(),
        )

    def carried(self) -> CarriedDenylist | None:
        """The current list as the signed pieces a phone carries (None before the first entry)."""
        if self.denylist_version == 0:
            return None
        cached = self._carried
        if cached is not None and cached.version == self.denylist_version:
            return cached
        pieces = issue_denylist_pieces(
            issuer_key=self.issuer_key,
            version=self.denylist_version,
            entries=self.denylist_entries,
            now=self.clock.now(),
        )
        carried = CarriedDenylist(self.denylist_version, tuple(pieces))
        self._carried = carried
        return carried

    def carry_pieces(self, phone: Phone) -> None:
        """Let ``phone`` carry the list as pieces (as the key app does) instead of a snapshot."""
        phone.driver.carried = self.carried

    # --- phones ---

    def phone(self, subject: str = "worker-1", *, online: bool = True) -> Phone:
        """A work phone with a fresh device key. An online phone can fetch challenge-bound
        time tokens and the current denylist; an offline one carries nothing extra."""
        driver = PhoneDriver(device_key=DeviceKey.generate())
        phone = Phone(driver=driver, subject=subject)
        if online:
            driver.time_tokens = lambda door_id, nonce: self.time_token(door_id, nonce)
            driver.denylist = self.denylist_for

        def proof() -> bytes | None:
            if phone.renewed:
                # An offline phone carries no list, so its proof has seen none either.
                phone.proof = self.freshness(phone, denylist_version=None if online else 0)
            return phone.proof

        driver.freshness = proof
        return phone

    def visit(
        self,
        phone: Phone,
        door: DoorFirmware,
        command: Command = Command.UNLOCK,
        args: Mapping[str, object] | None = None,
        *,
        then: tuple[tuple[Command, Mapping[str, object] | None], ...] = (),
    ) -> VisitResult:
        """Connect ``phone`` to ``door``, run one session, disconnect."""
        link = self.links[door.door_id].connect()
        entry = DoorEntry(door.door_id, door.door_key.public, phone.credentials[door.door_id])
        try:
            return phone.driver.run(link, entry, command, args, then=then)
        finally:
            link.close()

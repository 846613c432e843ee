"""The key app's use cases: what an employee does with the phone, start to end of a shift.

State on the phone (``data_dir``):

- ``keystore.bin``: the device key (stands in for the phone's secure hardware);
- ``wallet.bin``: today's keys, encrypted under the personal code and the device key;
- ``outbox.sqlite``: receipts and app events waiting for the server;
- ``app.json``: settings and non-secret state (server, phone id, employee number, the session
  token used for heartbeats, the door-session use counter, and per door the highest seq of the
  door's log this phone has read and queued: ``log_read``);
- ``live.json`` and ``denylist.json``: the live, non-secret material renewed by every heartbeat
  even while the keys are sealed (proof of freshness, time token, policy, denylist pieces;
  :mod:`carekey.app.live`).

Keys are usable only after the personal code has been entered; they are *sealed* again (the app
forgets them and the code) after ``policy.seal_after_s`` seconds without use, at once when the
app goes to the background (:meth:`KeyApp.background`), and when it closes. The code can be
given at the door (``open(door_id, code)``): one call unlocks and opens. Keys are deleted when
they expire (checked at start and on every tick, whether or not the app ran at the moment of
expiry), on WIPE, on logout and after too many wrong codes; every deletion is an app event
``wiped`` in the outbox.

Every door session (unlock or lock, online or offline) also collects the door's signed log once
the door has answered (:mod:`carekey.link.logread`): from one past the later of the bundle's
``last_seq`` for the door (what the server had) and this phone's own ``log_read``, within
``LOG_PAGES_PER_VISIT`` pages. The events go into the outbox with the page's ``first_seq``,
``next_seq`` and ``events_dropped`` before ``log_read`` moves, so a crash in between reads them
again rather than skipping them. The app does not ask while its proof of freshness has run out
(the door would refuse, and log the refusal). A key the door does not let read its log
(``not_permitted``, e.g. a partner's) opens as usual; the app then stops asking that door
until its keys change.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from carekey.app.advice import ADVICE as _ADVICE
from carekey.app.advice import WIPED_BEFORE_THE_DOOR
from carekey.app.client import AppError, OfflineError, ServerClient, ServerError
from carekey.app.connection import Connection
from carekey.app.doorkeys import door_entry
from carekey.app.keystore import DeviceKeystore
from carekey.app.live import LiveStore, Policy
from carekey.app.lockup import LockUp
from carekey.app.outbox import Outbox
from carekey.app.seal import IdleSeal
from carekey.app.views import AppStatus, DoorView, PendingLogin, VisitOutcome
from carekey.app.wallet import Wallet, WalletError, check_code
from carekey.clock import Clock
from carekey.link.driver import DoorEntry, PhoneDriver, VisitResult
from carekey.link.logread import LogRead
from carekey.link.transport import Transport
from carekey.protocol.errors import ProtocolError
from carekey.protocol.session import Command, describe

HEARTBEAT_EVERY = dt.timedelta(seconds=60)
# A door whose signed receipt is this far from the phone's (server-synced) clock took a wrong
# time: the app asks the server for a correction bound to the door's challenge.
CLOCK_WRONG_AFTER = dt.timedelta(hours=1)
# ``open`` checks in first when the last answered heartbeat is older than this.
CHECK_IN_BEFORE_OPEN = dt.timedelta(seconds=60)
# What the bundle carries that is live material (kept in live.json, not in the wallet).
_LIVE_KEYS = ("freshness", "policy", "denylist", "time_token")
# A door accepts a broadcast time token only while it is about as new as the door's own clock
# (docs/protocol.md, time tokens): an older one would make the door refuse the whole request.
BROADCAST_TOKEN_MAX_AGE = dt.timedelta(seconds=45)
SYNC_EVERY = dt.timedelta(seconds=30)


@dataclass
class _State:
    server_url: str | None = None
    phone_id: int | None = None
    municipality: str | None = None
    employee_number: str | None = None
    session_token: str | None = None
    counter: int = 0
    lang: str = "da"
    last_heartbeat: str | None = None
    last_sync: str | None = None
    answered_at: str | None = None  # the server's last answer (carekey.app.connection)
    unanswered_at: str | None = None  # the last request it did not answer
    last_answered: bool | None = None  # whether the last request was answered
    log_read: dict[str, int] = field(default_factory=dict)
    """Door id -> the highest seq of its log this phone has read (queued in the outbox)."""
    extra: dict[str, Any] = field(default_factory=dict)


TransportFactory = Callable[[str], Transport]
"""``door_id -> a connected transport to that door`` (Bluetooth, a socket, or in memory)."""


def _keys_only(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle without its live material (that lives in live.json, renewed while sealed)."""
    return {k: v for k, v in bundle.items() if k not in _LIVE_KEYS and k != "session_token"}


class KeyApp:
    """The key app on one phone."""

    def __init__(
        self,
        data_dir: Path,
        *,
        server: ServerClient | None,
        clock: Clock,
        transports: TransportFactory,
        wallet_options: dict[str, Any] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.transports = transports
        self._state_path = self.data_dir / "app.json"
        self.state = self._load_state()
        self.connection = Connection(
            clock,
            answered_at=self.state.answered_at,
            unanswered_at=self.state.unanswered_at,
            last_answered=self.state.last_answered,
            changed=self._save_state,
        )
        self._server_client: ServerClient | None = None
        self.server = server
        self.pending_login: PendingLogin | None = None
        """A login the server accepted whose keys wait for the personal code."""
        keystore_path = self.data_dir / "keystore.bin"
        self.keystore = (
            DeviceKeystore.open(keystore_path) if DeviceKeystore.exists(keystore_path) else None
        )
        self._wallet_options = wallet_options or {}
        self.wallet = self._make_wallet()
        self.outbox = Outbox(self.data_dir / "outbox.sqlite", clock=clock)
        self.live = LiveStore(self.data_dir, clock=clock)
        self._presenters: dict[str, Callable[[bytes], bytes]] = {}
        self._lock_up = LockUp(clock)
        self._bundle: dict[str, Any] | None = None
        self._code: str | None = None
        self._seal = IdleSeal(clock)
        self.code_prompts = 0
        """Times the personal code was needed at a door (``open``/``lock_door`` while sealed)."""
        self.visits = 0
        """Door sessions started by ``open``/``lock_door`` in this run."""
        self.last_log: LogRead | None = None
        """What the last door session collected of the door's log (None: it did not read)."""
        self._server_seq: dict[str, int] = {}
        """Door id -> the bundle's ``last_seq``, from the last keys opened (kept while sealed)."""
        self._log_refused: set[str] = set()
        """Doors that refused to let these keys read their log (asked again with new keys)."""
        self._log_refused_keys: object = None
        self.wallet_expired_on_start = self._expire_if_due()

    # --- state ---------------------------------------------------------------------------------

    def _load_state(self) -> _State:
        if not self._state_path.exists():
            return _State()
        data = json.loads(self._state_path.read_text(encoding="utf-8"))
        return _State(**data)

    def _save_state(self) -> None:
        answered, unanswered = self.connection.answered_at, self.connection.unanswered_at
        self.state.answered_at = answered.isoformat() if answered else None
        self.state.unanswered_at = unanswered.isoformat() if unanswered else None
        self.state.last_answered = self.connection.last_answered
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state), indent=2), encoding="utf-8")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        tmp.replace(self._state_path)

    def _make_wallet(self) -> Wallet | None:
        if self.keystore is None:
            return None
        return Wallet(
            self.data_dir / "wallet.bin",
            keystore=self.keystore,
            clock=self.clock,
            **self._wallet_options,
        )

    @property
    def lang(self) -> str:
        return self.state.lang

    def set_language(self, lang: str) -> None:
        """Danish (``da``, the default) or English (``en``)."""
        if lang not in ("da", "en"):
            raise AppError("app.language", "Sproget skal være da eller en", "Language: da or en")
        self.state.lang = lang
        self._save_state()

    @property
    def server(self) -> ServerClient | None:
        """The server's client; every request it makes reports to :attr:`connection`."""
        return self._server_client

    @server.setter
    def server(self, client: ServerClient | None) -> None:
        self._server_client = client
        if client is not None:
            client.observer = self.connection.record

    @property
    def online(self) -> bool | None:
        """The outcome of the last request in this run (None: none yet): what the app's own
        choices go by; the screen shows :meth:`Connection.online`."""
        return self.connection.in_run

    def _server(self) -> ServerClient:
        if self.server is None:
            raise OfflineError(
                "app.no_server",
                "Appen kender ikke serveren; tilmeld telefonen først",
                "The app does not know the server; enrol the phone first",
            )
        return self.server

    def _require_enrolled(self) -> tuple[DeviceKeystore, Wallet, int]:
        if self.keystore is None or self.wallet is None or self.state.phone_id is None:
            raise AppError(
                "app.not_enrolled",
                "Telefonen er ikke tilmeldt; brug engangskoden fra kontoret",
                "The phone is not enrolled; use the one-time code from the office",
            )
        return self.keystore, self.wallet, self.state.phone_id

    # --- enrolment and login -------------------------------------------------------------------

    def enrol(self, code: str, *, server_url: str | None = None) -> int:
        """Create the device key on the phone and register its public half with a one-time code."""
        if server_url is not None:
            self.state.server_url = server_url
        keystore_path = self.data_dir / "keystore.bin"
        if self.keystore is None:
            self.keystore = DeviceKeystore.create(keystore_path)
            self.wallet = self._make_wallet()
        try:
            result = self._server().enrol(code=code, public_key=self.keystore.public.compressed)
        except AppError:
            raise
        self.state.phone_id = int(result["phone_id"])
        self.state.municipality = str(result["municipality"])
        self._save_state()
        return self.state.phone_id

    def login(
        self,
        employee_number: str,
        password: str,
        personal_code: str,
        *,
        new_password: str | None = None,
    ) -> AppStatus:
        """Log in online; today's keys are stored encrypted under the personal code (checked
        first: the server opens no session for a code that cannot be used)."""
        _checked(personal_code)
        self.start_login(employee_number, password, new_password=new_password)
        return self.finish_login(personal_code)

    def start_login(
        self, employee_number: str, password: str, *, new_password: str | None = None
    ) -> PendingLogin:
        """The login's first step: password and device proof at the server. A wrong password
        fails here, before the personal code is asked for (the server never sees the code: it
        only seals the wallet on the phone). The keys wait in memory for :meth:`finish_login`;
        ``new_password`` replaces a one-time password from the office (the server refuses the
        login with ``auth.password_change_required`` until it is given)."""
        keystore, _, phone_id = self._require_enrolled()
        assert self.state.municipality is not None
        self.pending_login = None
        bundle = self._server().login(
            municipality=self.state.municipality,
            employee_number=employee_number,
            password=password,
            phone_id=phone_id,
            signer=keystore,
            new_password=new_password,
        )
        self.pending_login = PendingLogin(employee_number, bundle)
        return self.pending_login

    def finish_login(self, personal_code: str) -> AppStatus:
        """The login's second step: the keys of :meth:`start_login` are stored under the
        personal code. A code of the wrong form changes nothing (ask again)."""
        _checked(personal_code)
        pending = self.pending_login
        if pending is None:
            raise AppError("app.no_login", "Log ind først", "Log in first")
        bundle = dict(pending.bundle)
        self.state.employee_number = pending.employee_number
        self.state.session_token = bundle.pop("session_token")
        self.state.last_heartbeat = self.clock.now().isoformat()
        self._save_state()
        self.live.forget()  # a new login: yesterday's proof and list are not this one's
        self.live.apply(bundle)
        self._store(bundle, personal_code)
        self.pending_login = None
        self._seal.touch()
        self.outbox.add_app_event("login")
        return self.status()

    def _store(self, bundle: dict[str, Any], code: str) -> None:
        _, wallet, _ = self._require_enrolled()
        bundle = _keys_only(bundle)
        until = dt.datetime.fromisoformat(bundle["keys_valid_until"])
        try:
            wallet.store(bundle, code=code, keys_valid_until=until)
        except WalletError as exc:
            raise AppError(exc.code, exc.message_da, exc.message_en) from exc
        self._keys_opened(bundle)
        self._code = code

    def _keys_opened(self, bundle: dict[str, Any]) -> None:
        """``bundle`` is the open keys now: note where the server is in each door's log."""
        if self._bundle is None or self._bundle.get("credentials") != bundle.get("credentials"):
            self._presenters.clear()
        if bundle.get("credentials") != self._log_refused_keys:
            self._log_refused.clear()  # new keys may read where the old ones could not
            self._log_refused_keys = bundle.get("credentials")
        self._bundle = bundle
        for door in bundle.get("doors", []):
            last = door.get("last_seq")
            if isinstance(last, int) and not isinstance(last, bool) and last >= 0:
                self._server_seq[str(door["door_id"])] = last

    def _partner_keys(self) -> bool:
        """Whether the open keys are a partner worker's (the bundle says ``partner``): a door
        never lets those read its log, so the app does not ask (a refusal logged at the door
        and a failure counted by its rate limiter for nothing)."""
        return self._bundle is not None and self._bundle.get("partner") is not None

    def log_position(self, door_id: str) -> int:
        """The seq the next visit to ``door_id`` starts reading its log at: one past the later
        of what the server had (the keys' ``last_seq``) and what this phone has read itself."""
        return max(self._server_seq.get(door_id, 0), self.state.log_read.get(door_id, 0)) + 1

    def unlock(self, personal_code: str) -> AppStatus:
        """Open the wallet with the personal code; the keys stay open while they are used
        (sealed again after ``policy.seal_after_s`` seconds idle, or by :meth:`background`).

        A wrong code counts towards the wipe; the wipe (too many wrong codes, or keys found
        expired) is queued as an app event ``wiped``. A REFRESH that came while the keys were
        sealed is fetched now, if the server answers."""
        return self._open_wallet(personal_code, fetch_pending=True)

    def _open_wallet(self, personal_code: str, *, fetch_pending: bool) -> AppStatus:
        _, wallet, _ = self._require_enrolled()
        try:
            bundle = wallet.unlock(personal_code)
        except WalletError as exc:
            self.lock()
            reason = {"wallet.wiped_wrong_codes": "wrong_codes", "wallet.expired": "expired"}
            if exc.code in reason:
                self._keys_deleted(reason[exc.code])
            raise AppError(exc.code, exc.message_da, exc.message_en) from exc
        self._keys_opened(bundle)
        self._code = personal_code
        self._seal.touch()
        if fetch_pending and self.live.refresh_pending:
            self._refresh(personal_code, challenge=None)
        return self.status()

    def lock(self) -> None:
        """Seal the keys: forget them and the code in memory; the personal code is needed
        again."""
        self._bundle = None
        self._code = None
        self._presenters.clear()
        self._seal.clear()

    def background(self) -> None:
        """The app went to the background or the phone locked: seal the keys at once."""
        self.lock()

    @property
    def sealed(self) -> bool:
        """The keys (if any) are not open in memory: the personal code is needed to use them
        (keys idle for ``policy.seal_after_s`` are sealed by asking)."""
        self._seal_if_idle()
        return self._bundle is None

    @property
    def policy(self) -> Policy:
        """The server's timing policy (seal after, proof lifetime, warning), or the defaults."""
        return self.live.policy

    def _seal_if_idle(self) -> None:
        if self._bundle is not None and self._seal.due(self.live.policy.seal_after_s):
            self.lock()

    def _keys_deleted(self, reason: str) -> None:
        """The wallet deleted the keys by itself (``expired``, ``wrong_codes``): audit it."""
        self.lock()
        self._lock_up.forget()
        self.live.forget()
        self.outbox.add_app_event("wiped", reason=reason)

    def _expire_if_due(self) -> bool:
        if self.wallet is not None and self.wallet.expire_if_due():
            self._keys_deleted("expired")
            return True
        return False

    def logout(self) -> None:
        """End the shift: upload what waits (if online), delete the keys and the session."""
        self.outbox.add_app_event("logout")
        self.sync()
        if self.wallet is not None:
            self.wallet.wipe("logout")
        self.lock()
        self._lock_up.forget()
        self.live.forget()
        self.state.session_token = None
        self._save_state()

    def wipe(self, reason: str) -> None:
        """Delete every key at once (WIPE from the server)."""
        if self.wallet is not None:
            self.wallet.wipe(reason)
        self.lock()
        self._lock_up.forget()
        self.live.forget()
        self.state.session_token = None
        self._save_state()
        self.outbox.add_app_event("wiped", reason=reason)

    # --- what the screen shows -----------------------------------------------------------------

    def status(self) -> AppStatus:
        """Enrolment, keys, lock state, connectivity, uploads waiting, the proof's expiry."""
        self._seal_if_idle()
        wallet_status = self.wallet.status() if self.wallet is not None else None
        keys_present = bool(wallet_status and wallet_status.present)
        return AppStatus(
            enrolled=self.state.phone_id is not None,
            keys_present=bool(wallet_status and wallet_status.present),
            unlocked=self._bundle is not None,
            keys_valid_until=wallet_status.keys_valid_until if wallet_status else None,
            online=self.connection.online(),
            last_answer_at=self.connection.answered_at,
            pending_uploads=self.outbox.count(),
            employee_number=self.state.employee_number,
            wrong_codes=wallet_status.wrong_codes if wallet_status else 0,
            freshness_expires_at=self.live.freshness_expires_at if keys_present else None,
            freshness_warning=keys_present and self.live.freshness_warning(),
            freshness_expired=keys_present and self.live.freshness_expired(),
        )

    def _unlocked_bundle(self) -> dict[str, Any]:
        """The open keys, counted as a use (the idle seal starts again)."""
        self._expire_if_due()
        self._seal_if_idle()
        if self._bundle is None:
            status = self.status()
            if not status.keys_present:
                raise AppError(
                    "app.no_keys",
                    "Du har ingen nøgler; log ind",
                    "You have no keys; log in",
                )
            raise AppError(
                "app.locked",
                "Indtast din personlige kode",
                "Enter your personal code",
            )
        self._seal.touch()
        return self._bundle

    def doors(self) -> list[DoorView]:
        """Today's doors: citizen, address, home / stairwell / gate."""
        bundle = self._unlocked_bundle()
        citizens = {c["id"]: c for c in bundle.get("citizens", [])}
        views = []
        for d in bundle["doors"]:
            citizen = citizens.get(d["citizen_id"], {})
            views.append(
                DoorView(
                    door_id=d["door_id"],
                    kind=d["kind"],
                    label=d.get("label", ""),
                    citizen_name=str(citizen.get("name", "")),
                    address=str(citizen.get("address", "")),
                    emergency=citizen.get("emergency_grant_id") is not None,
                )
            )
        return views

    # --- at the door ---------------------------------------------------------------------------

    def _driver(self, keystore: DeviceKeystore, *, correction: bool = False) -> PhoneDriver:
        def time_tokens(door_id: bytes, nonce: bytes | None) -> bytes | None:
            if nonce is None:
                # None when too old for the door: it keeps its own clock this time.
                return self.live.time_token(BROADCAST_TOKEN_MAX_AGE)
            if self.server is None or self.state.session_token is None:
                return None
            try:
                return self.server.time_token(
                    token=self.state.session_token,
                    door_id=door_id.decode(),
                    nonce=nonce,
                    correction=correction,
                )
            except AppError:
                return None

        # The pieces when the server sent pieces (the driver then ignores ``denylist``), else an
        # older server's single snapshot.
        return PhoneDriver(
            device_key=keystore,
            counter=self.state.counter,
            time_tokens=time_tokens,
            denylist=self.live.snapshot,
            freshness=self.live.proof,
            carried=self.live.carried,
        )

    def _visit(
        self,
        door_id: str,
        command: Command,
        entry: DoorEntry | None = None,
        *,
        correct_time: bool = False,
    ) -> VisitOutcome:
        keystore, _, _ = self._require_enrolled()
        if entry is None:
            entry = door_entry(self._unlocked_bundle(), door_id, self._presenters)
        door_id = entry.door_id.decode()  # as the keys spell it, whatever was typed
        driver = self._driver(keystore, correction=correct_time)
        # The use counter must never repeat, even after a crash: persist it before the visit.
        self.state.counter += 1
        self._save_state()
        driver.counter = self.state.counter - 1
        self.visits += 1
        try:
            transport = self.transports(door_id)
        except AppError:
            self.outbox.add_app_event("refused", door_id=door_id, reason="unreachable")
            raise
        except (OSError, ProtocolError) as exc:
            self.outbox.add_app_event("refused", door_id=door_id, reason="unreachable")
            raise AppError(
                "app.door_unreachable",
                "Døren svarer ikke. Gå tættere på og prøv igen.",
                "The door does not answer. Move closer and try again.",
            ) from exc
        # The door lets a key read its log only with a live proof of freshness (and never a
        # partner's key): without one, asking would only log a refusal at the door.
        may_read = (
            door_id not in self._log_refused
            and not self._partner_keys()
            and not self.live.freshness_expired()
        )
        read_from = self.log_position(door_id) if may_read else None
        try:
            result = driver.run(
                transport,
                entry,
                command,
                # After the door's answer, in the same session: the door's log from where
                # neither the server nor this phone has it (carekey.link.logread).
                read_log=read_from,
                correct_time=correct_time,
            )
        except ProtocolError as exc:
            self.outbox.add_app_event("refused", door_id=door_id, reason=exc.code)
            da, en = describe(exc.code)
            return VisitOutcome(False, exc.code, da, en)
        finally:
            transport.close()
        if driver.counter > self.state.counter:  # persisted before the visit otherwise
            self.state.counter = driver.counter
            self._save_state()
        if result.response.receipt is not None:
            # Durable before it is shown as done.
            self.outbox.add_receipt(door_id, result.response.receipt)
        self.last_log = result.log
        if result.log is not None:
            self._collected(door_id, result.log)
        code = result.response.result
        if not correct_time and self._clock_is_wrong(result):
            # The door's own receipt shows its clock far off (it took a wrong time): once, fetch
            # the issuer's correction for this door's challenge and try again.
            return self._visit(door_id, command, entry, correct_time=True)
        if result.ok:
            state = str(result.response.data.get("state", "")) or None
            if command is Command.UNLOCK:
                self._lock_up.opened(door_id, entry)
                return VisitOutcome(True, "ok", "Døren er åben.", "The door is open.", state)
            return VisitOutcome(True, "ok", "Døren er låst.", "The door is locked.", state)
        da, en = describe(code)
        advice = _ADVICE.get(code)
        if advice:
            da, en = f"{da} {advice[0]}", f"{en} {advice[1]}"
        return VisitOutcome(False, code, da, en)

    def _collected(self, door_id: str, log: LogRead) -> None:
        """Queue what a session read of the door's log; only then move ``log_read`` on."""
        if log.refused is not None:
            if log.refused == "not_permitted":  # these keys never may: do not ask again
                self._log_refused.add(door_id)
            return
        if log.events:
            self.outbox.add_door_events(
                door_id,
                list(log.events),
                first_seq=log.first_seq,
                next_seq=log.next_seq,
                events_dropped=log.events_dropped,
            )
        top = max(self.log_position(door_id) - 1, log.highest_seq or 0)
        if top > self.state.log_read.get(door_id, 0):
            self.state.log_read[door_id] = top
            self._save_state()

    def _clock_is_wrong(self, result: VisitResult) -> bool:
        receipt = result.receipt
        if result.ok or receipt is None or receipt.time is None or self.server is None:
            return False
        if result.response.result not in ("expired", "not_yet_valid", "outside_window"):
            return False
        return abs(receipt.time - self.clock.now()) > CLOCK_WRONG_AFTER

    def open(self, door_id: str, code: str | None = None) -> VisitOutcome:
        """Unlock a door (an explicit tap; the app never unlocks by itself).

        Sealed keys need ``code``: it opens the wallet and the door in this one call (no code:
        ``app.locked``, and the door sees nothing). Online first: when the last answered
        heartbeat is older than 60 s the app checks in before the door (offline: it goes on at
        once); a WIPE then means the door is not opened, a REFRESH brings the new keys."""
        self._before_the_door(code)
        if self._check_in_is_due() and self.heartbeat_quietly() == "WIPE":
            da, en = WIPED_BEFORE_THE_DOOR
            return VisitOutcome(False, "wiped", da, en)
        self._open_with(code, fetch_pending=True)
        return self._visit(door_id, Command.UNLOCK)

    def lock_door(self, door_id: str, code: str | None = None) -> VisitOutcome:
        """Re-lock a door when leaving; the app confirms the door says it is locked.

        Like :meth:`open` for sealed keys, but it never waits for the network first: a door
        is never left open because the server is slow. The door this phone opened in the
        last 90 minutes locks without the code (:mod:`carekey.app.lockup`)."""
        self._expire_if_due()
        self._seal_if_idle()
        if self._bundle is None:
            entry = self._lock_up.entry(door_id)
            if entry is not None and self.status().keys_present:
                return self._visit(door_id, Command.LOCK, entry)
        self._before_the_door(code)
        self._open_with(code, fetch_pending=False)  # a pending REFRESH waits for the next open
        return self._visit(door_id, Command.LOCK)

    def _before_the_door(self, code: str | None) -> None:
        """Expiry and the idle seal first; sealed keys without a code stop here."""
        self._expire_if_due()
        self._seal_if_idle()
        if self._bundle is None and (code is None or not self.status().keys_present):
            self._unlocked_bundle()  # raises app.no_keys or app.locked

    def _open_with(self, code: str | None, *, fetch_pending: bool) -> None:
        if self._bundle is None and code is not None:
            self.code_prompts += 1
            self._open_wallet(code, fetch_pending=fetch_pending)

    def _check_in_is_due(self) -> bool:
        if self.server is None or self.state.session_token is None:
            return False
        last = self.state.last_heartbeat
        return last is None or self.clock.now() - dt.datetime.fromisoformat(last) > (
            CHECK_IN_BEFORE_OPEN
        )

    def heartbeat_quietly(self) -> str:
        """:meth:`heartbeat`, with a server error counted as offline (the door goes first)."""
        try:
            return self.heartbeat()
        except AppError:
            return "OFFLINE"

    # --- online --------------------------------------------------------------------------------

    def heartbeat(self) -> str:
        """Check in: OK, REFRESH (a new bundle is fetched), WIPE (keys deleted) or OFFLINE."""
        if self.state.session_token is None:
            return "NO_SESSION"
        answered_before = self.online is True
        try:
            answer = self._server().heartbeat(
                token=self.state.session_token, denylist_version=self.live.denylist_version
            )
        except OfflineError:
            return "OFFLINE"
        except ServerError as exc:
            if exc.status == 401:  # the session ended (9 hours): keys go too
                self.wipe("session_expired")
                return "WIPE"
            raise
        if not answered_before:
            # Back online (or first contact in this run): what waited in backoff goes now.
            self.outbox.retry_now()
        self.state.last_heartbeat = self.clock.now().isoformat()
        self._save_state()
        status = str(answer["status"])
        if status == "WIPE":
            self.wipe(str(answer.get("reason") or "blocked"))
            return "WIPE"
        # Proof, time token, denylist and policy: renewed whether the keys are open or sealed.
        self.live.apply(answer)
        if status == "REFRESH":
            if self._bundle is not None and self._code is not None:
                self._refresh(self._code, challenge=answer.get("next_challenge"))
            else:
                # Sealed: no code to re-encrypt the new keys; fetch them at the next unlock.
                self.live.set_refresh_pending(True)
        return status

    def _refresh(self, code: str, *, challenge: str | None) -> None:
        """Fetch the new bundle and store it under ``code`` (offline: try at the next
        unlock)."""
        keystore, _, phone_id = self._require_enrolled()
        if self.state.session_token is None:
            return
        try:
            fresh = self._server().bundle(
                token=self.state.session_token,
                phone_id=phone_id,
                signer=keystore,
                challenge=challenge,
            )
        except AppError:
            self.live.set_refresh_pending(True)
            return
        self.live.apply(fresh)
        self._store(fresh, code)
        self.live.set_refresh_pending(False)

    def sync(self) -> int:
        """Upload what the outbox holds; returns how many items went up."""
        if self.state.session_token is None:
            return 0
        token = self.state.session_token

        def upload(body: dict[str, Any]) -> dict[str, Any]:
            return self._server().upload(token=token, body=body)

        if self.online is not True and self.heartbeat() in ("OFFLINE", "WIPE", "NO_SESSION"):
            return 0
        result = self.outbox.drain(upload)
        if isinstance(result.exception, OfflineError):
            return result.sent
        sent = result.sent
        if sent:
            self.state.last_sync = self.clock.now().isoformat()
            self._save_state()
        return sent

    def tick(self) -> None:
        """Called on a timer: keys expire and seal on time, heartbeats and uploads happen when
        due."""
        self._expire_if_due()
        self._seal_if_idle()
        now = self.clock.now()
        last = self.state.last_heartbeat
        if last is None or now - dt.datetime.fromisoformat(last) >= HEARTBEAT_EVERY:
            self.heartbeat()
        last_sync = self.state.last_sync
        if self.outbox.count() and (
            last_sync is None or now - dt.datetime.fromisoformat(last_sync) >= SYNC_EVERY
        ):
            self.sync()


def _checked(personal_code: str) -> None:
    try:
        check_code(personal_code)
    except WalletError as exc:
        raise AppError(exc.code, exc.message_da, exc.message_en) from exc


__all__ = [
    "AppError",
    "AppStatus",
    "DoorView",
    "KeyApp",
    "PendingLogin",
    "VisitOutcome",
    "WalletError",
]

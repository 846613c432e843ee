"""The installer's side of the key app (issue 16): their work orders, and commissioning and
decommissioning a door at the door.

For each visit the app fetches the order's key from the server (``/api/v1/app/installer/
credential``: the admin and installer rights for that one door, bound to this phone's device
key, valid at most for the order's window), talks to the door with
:mod:`carekey.link.commissioning` (time set with a challenge-bound token from
``/installer/time-token``, test open and lock; or the log read to its end and DECOMMISSION),
and reports the door's signed receipts to the server, which checks them itself
(``/installer/commissioned``, ``/installer/decommissioned``). The door's signed receipts are
also queued in the outbox like every other receipt.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass
from typing import Any

from carekey.app.client import AppError, ServerClient, b64
from carekey.app.keystore import DeviceKeystore
from carekey.app.service import KeyApp
from carekey.link.commissioning import (
    CommissioningError,
    commission_over_link,
    decommission_over_link,
)
from carekey.link.driver import PhoneDriver


@dataclass(frozen=True)
class Ready:
    """What a visit needs: the server, the session, the device key, the phone."""

    server: ServerClient
    token: str
    keystore: DeviceKeystore
    phone_id: int


def _failed(exc: CommissioningError) -> AppError:
    return AppError(
        f"app.commissioning.{exc.code}",
        f"Døren afviste trinnet {exc.step}: {exc.code}",
        f"The door refused the step {exc.step}: {exc.code}",
    )


class InstallerWork:
    """An installer's orders and visits, on top of the key app's enrolment and session."""

    def __init__(self, keyapp: KeyApp) -> None:
        self.keyapp = keyapp

    def _ready(self) -> Ready:
        keystore, _, phone_id = self.keyapp._require_enrolled()
        token = self.keyapp.state.session_token
        if token is None:
            raise AppError(
                "app.not_logged_in",
                "Log ind først",
                "Log in first",
            )
        return Ready(self.keyapp._server(), token, keystore, phone_id)

    def orders(self) -> list[dict[str, Any]]:
        """The installer's work orders, open ones first (from the server)."""
        ready = self._ready()
        return ready.server.installer_orders(token=ready.token)

    def _key(self, ready: Ready, order_id: int, door_serial: str | None) -> dict[str, Any]:
        return ready.server.installer_credential(
            token=ready.token,
            phone_id=ready.phone_id,
            signer=ready.keystore,
            order_id=order_id,
            door_serial=door_serial,
        )

    def _driver(self, ready: Ready, order_id: int, door_serial: str) -> PhoneDriver:
        driver = self.keyapp._driver(ready.keystore)

        def time_tokens(door_id: bytes, nonce: bytes | None) -> bytes | None:
            if nonce is None:
                return None
            return ready.server.installer_time_token(
                token=ready.token, order_id=order_id, door_serial=door_serial, nonce=nonce
            )

        driver.time_tokens = time_tokens
        # The use counter must never repeat, even after a crash: persisted before the visit.
        state = self.keyapp.state
        state.counter += 64  # a commissioning session is a handful of requests
        self.keyapp._save_state()
        driver.counter = state.counter - 64
        return driver

    def _done_with(self, driver: PhoneDriver) -> None:
        if driver.counter > self.keyapp.state.counter:
            self.keyapp.state.counter = driver.counter
            self.keyapp._save_state()

    def commission(self, order_id: int, *, door_serial: str, door_public_key: bytes) -> Any:
        """Commission the door ``door_serial`` for an install order: ``door_public_key`` (32 raw
        bytes) is from the door's pairing label. Returns the server's answer."""
        ready = self._ready()
        key = self._key(ready, order_id, door_serial)
        driver = self._driver(ready, order_id, door_serial)
        transport = self.keyapp.transports(door_serial)
        try:
            report = commission_over_link(
                transport,
                driver=driver,
                door_id=door_serial.encode(),
                door_public_key=door_public_key,
                credential=base64.b64decode(key["credential"]),
            )
        except CommissioningError as exc:
            raise _failed(exc) from exc
        finally:
            transport.close()
            self._done_with(driver)
        receipts = [report.test_open.receipt, report.test_lock.receipt]
        for receipt in receipts:
            self.keyapp.outbox.add_receipt(door_serial, receipt)
        body = {
            "order_id": order_id,
            "door_serial": door_serial,
            "public_key": b64(report.door_public_key),
            "firmware_version": report.firmware_version,
            "test_receipts": [b64(r) for r in receipts],
        }
        answer = ready.server.installer_report(token=ready.token, report="commissioned", body=body)
        self._upload()  # the test receipts, now that the server holds the door's key
        return answer

    def _upload(self) -> None:
        """Upload the outbox now if the server answers; it stays queued otherwise."""
        with contextlib.suppress(AppError):
            self.keyapp.sync()

    def decommission(self, order_id: int, *, disposition: str) -> Any:
        """Decommission the door of a restore order (it forgets every key), then report it: the
        door goes back to ``stock`` or is ``scrapped``. Returns the server's answer."""
        ready = self._ready()
        key = self._key(ready, order_id, None)
        serial = str(key["doors"][0])
        if not key.get("door_public_key"):
            raise AppError(
                "app.door_key_unknown",
                "Serveren kender ikke dørens nøgle",
                "The server does not know the door's key",
            )
        driver = self._driver(ready, order_id, serial)
        transport = self.keyapp.transports(serial)
        try:
            report = decommission_over_link(
                transport,
                driver=driver,
                door_id=serial.encode(),
                door_public_key=base64.b64decode(key["door_public_key"]),
                credential=base64.b64decode(key["credential"]),
                from_seq=self.keyapp.log_position(serial),
            )
        except CommissioningError as exc:
            raise _failed(exc) from exc
        finally:
            transport.close()
            self._done_with(driver)
        # The door's log up to its end goes up first: ingest still knows the door's key.
        if report.events:
            self.keyapp.outbox.add_door_events(
                serial, list(report.events), events_dropped=report.events_dropped
            )
        self.keyapp.outbox.add_receipt(serial, report.receipt.receipt)
        self._upload()
        body = {
            "order_id": order_id,
            "receipt": b64(report.receipt.receipt),
            "disposition": disposition,
        }
        return ready.server.installer_report(token=ready.token, report="decommissioned", body=body)

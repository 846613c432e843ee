"""How the key app reaches a door outside the tests: a directory of simulated doors on sockets.

The demo serves each simulated door on its own local TCP port (:mod:`carekey.devices.doorserver`)
and writes where to find them to a JSON file, the *door directory*::

    {"doors": {"KBH-HL-000001": {"host": "127.0.0.1", "port": 47001}}}

:func:`directory_transports` turns that file into the app's transport factory
(``door_id -> Transport``), connecting with :func:`carekey.link.socket.connect` exactly as
a phone would connect over Bluetooth. The file is read again for each visit, so doors the demo
starts later are found without restarting the app.

A door that is not in the directory, or that does not answer, gives an
:class:`DoorUnreachableError` (an :class:`~carekey.app.client.AppError`) with plain Danish and
English text saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carekey.app.client import AppError
from carekey.link import socket as socketlink
from carekey.link.socket import SocketLinkError
from carekey.link.transport import Transport

DEFAULT_DOOR_TIMEOUT = 3.0
"""Seconds to wait for a door to take the connection (a BLE connect takes about as long)."""


class DoorUnreachableError(AppError):
    """``app.door_unreachable``: the app could not reach the door."""


@dataclass(frozen=True)
class DoorAddress:
    """Where one simulated door listens."""

    host: str
    port: int


def _invalid(path: Path, detail: str) -> AppError:
    return AppError(
        "app.door_directory_invalid",
        f"Dørlisten {path} kan ikke læses ({detail}). Start demoen igen.",
        f"The door directory {path} cannot be read ({detail}). Restart the demo.",
    )


def _address(path: Path, serial: str, raw: Any) -> DoorAddress:
    if not isinstance(raw, Mapping):
        raise _invalid(path, f"{serial}: forventede et objekt / expected an object")
    host, port = raw.get("host", "127.0.0.1"), raw.get("port")
    if not isinstance(host, str) or not host:
        raise _invalid(path, f"{serial}: host")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _invalid(path, f"{serial}: port")
    return DoorAddress(host, port)


@dataclass(frozen=True)
class DoorDirectory:
    """The demo's doors: serial (door id) to socket address."""

    doors: dict[str, DoorAddress]

    @classmethod
    def load(cls, path: Path) -> DoorDirectory:
        """Read a door directory file; a missing file is an empty directory."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls({})
        except OSError as exc:
            raise _invalid(path, exc.strerror or type(exc).__name__) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise _invalid(path, "ugyldig JSON / invalid JSON") from exc
        doors = data.get("doors") if isinstance(data, Mapping) else None
        if not isinstance(doors, Mapping):
            raise _invalid(path, '"doors" mangler / "doors" is missing')
        return cls({str(serial): _address(path, str(serial), raw) for serial, raw in doors.items()})

    def to_json(self) -> dict[str, Any]:
        """The file's content as JSON data."""
        return {
            "doors": {
                serial: {"host": address.host, "port": address.port}
                for serial, address in sorted(self.doors.items())
            }
        }

    def write(self, path: Path) -> None:
        """Write the directory to ``path`` (atomically: a reader sees the old or the new file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def directory_transports(
    path: Path, *, timeout: float = DEFAULT_DOOR_TIMEOUT
) -> Callable[[str], Transport]:
    """A transport factory for :class:`~carekey.app.service.KeyApp` from a door directory file.

    Each call reads the directory, finds the door and connects to it over a local socket.
    Raises :class:`DoorUnreachableError` when the door is not listed or does not answer, and
    ``AppError("app.door_directory_invalid")`` when the file cannot be read.
    """
    path = Path(path)

    def connect(door_id: str) -> Transport:
        address = DoorDirectory.load(path).doors.get(door_id)
        if address is None:
            raise DoorUnreachableError(
                "app.door_unreachable",
                f"Døren svarer ikke: {door_id} er ikke i dørlisten ({path}). "
                "Tjek at demo-dørene kører (make demo), og prøv igen.",
                f"The door does not answer: {door_id} is not in the door directory ({path}). "
                "Check that the demo doors are running (make demo) and try again.",
            )
        try:
            return socketlink.connect(address.host, address.port, timeout=timeout)
        except SocketLinkError as exc:
            where = f"{address.host}:{address.port}"
            raise DoorUnreachableError(
                "app.door_unreachable",
                f"Døren svarer ikke ({exc.message_da.rstrip('.')}, {where}). "
                "Gå tættere på og prøv igen.",
                f"The door does not answer ({exc.message_en.rstrip('.')}, {where}). "
                "Move closer and try again.",
            ) from exc

    return connect


__all__ = [
    "DEFAULT_DOOR_TIMEOUT",
    "DoorAddress",
    "DoorDirectory",
    "DoorUnreachableError",
    "directory_transports",
]

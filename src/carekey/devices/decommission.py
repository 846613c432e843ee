"""Taking a door out of service: the DECOMMISSION command (wire value 8) and what it forgets.

An installer's or administrator's credential (the admin right, as for CONFIGURE) sends
DECOMMISSION. The door, in this order:

1. signs a DECOMMISSIONED event with its own door key, bound to the request (``ref``): the
   phone's receipt, which the server verifies with the door's public key like any other;
2. forgets every key it was given: the issuer keyring and the partner keyring become empty,
   the denylist goes back to version 0, the settings to their defaults and the use counters per
   subject are dropped (the door no longer knows who used it);
3. ends the session: a later request in it is ``unexpected_message``.

All of it is flash (:class:`~carekey.devices.flash.PersistentState`, ``decommissioned``), so a
power cycle or a state-file round trip keeps the door forgotten. From then on the door refuses
every credential (``unknown_issuer_key``: it trusts no issuer), the one that decommissioned it
too, while it still answers hello with its door key (its identity is the door key, which it
keeps, as it keeps its signed log and sequence numbers: the server's chain of the door goes on
if it is ever provisioned again, at the factory or by a physical reset).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from carekey.devices.flash import DoorConfig, PersistentState
from carekey.protocol.credential import Credential
from carekey.protocol.denylist import DenylistState
from carekey.protocol.events import EventKind
from carekey.protocol.keys import IssuerKeyring
from carekey.protocol.session import Response

if TYPE_CHECKING:
    from carekey.devices.firmware import DoorFirmware

FIRMWARE_VERSION: Final = "carekey-door/1.1"
"""What STATUS reports as ``firmware`` (the commissioning report carries it)."""


def forget(flash: PersistentState) -> None:
    """Empty the keyrings, reset the denylist, settings and use counters; mark the flash as
    decommissioned. The door key, the clock, the event chain and ring are kept."""
    flash.keyring = IssuerKeyring()
    flash.partner_keyring = IssuerKeyring()
    flash.denylist = DenylistState()
    flash.config = DoorConfig()
    flash.subjects.clear()
    flash.decommissioned = True


def decommission(door: DoorFirmware, credential: Credential, ref: bytes | None) -> Response:
    """DECOMMISSION at ``door`` for an authenticated admin ``credential`` (the firmware has
    checked the right): sign the receipt, forget (:func:`forget`), end the session."""
    receipt = door._log(EventKind.DECOMMISSIONED, credential=credential, ref=ref)
    forget(door.flash)
    # The answer is sealed with the session the firmware holds in hand; the door keeps none.
    door._session = None
    door._credential = None
    door._freshness = None
    return Response(
        data={"decommissioned": True, "next_seq": door.flash.chain.next_seq},
        receipt=receipt.raw,
    )

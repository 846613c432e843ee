"""``carekey bench protocol``: sizes, round trips, air time and a timing model of one unlock.

What is measured (in this process, real code paths): the credential's size; the round trips,
packets and bytes of one unlock between a :class:`PhoneDriver` and a :class:`HomeLock` over the
in-memory BLE link; the signature checks the lock makes; and the issuer's signing rate next to
raw Ed25519 signing, both measured in the same run.

What is modelled: the wall time of an unlock on real hardware, from the phone's first write
after connecting to the phone holding the door's signed receipt. Radio: packets move only at
connection events (``CONNECTION_INTERVAL_MS`` apart, up to ``PACKETS_PER_EVENT`` per event),
a message leaves at the first event after its sender has finished computing, and each packet
costs its air time at 1 Mbit/s plus inter-frame space and the empty acknowledgement. Lock CPU:
the per-operation budget below for a 64 MHz Cortex-M4 without crypto hardware, multiplied by the
operations the firmware actually counted during the unlock. Phone CPU: a budget per step, the
device signature in secure hardware dominating. Advertising, connection setup and the motor's
travel (≈ 0.5-1 s, after the decision) are outside the model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carekey.devices.firmware import FirmwareStats
from carekey.devices.testbed import Testbed
from carekey.devices.transport import LINK_LAYER_OVERHEAD_BYTES
from carekey.protocol.credential import DoorKind, SubjectType, issue_credential
from carekey.protocol.keys import DeviceKey
from carekey.protocol.session import Command

CONNECTION_INTERVAL_MS: Final = 30.0
PACKETS_PER_EVENT: Final = 4
PHY_BITS_PER_MS: Final = 1000.0  # 1 Mbit/s LE 1M PHY
PACKET_TURNAROUND_MS: Final = 0.15 + 0.08 + 0.15  # IFS, empty ack, IFS

# Lock CPU budget per operation, 64 MHz Cortex-M4, constant-time software (milliseconds).
# X25519 ≈ 9 ms (≈ 600 k cycles, the field figure); Ed25519 signing is one fixed-base scalar
# multiplication plus hashing; Ed25519 verification a double-scalar multiplication; ECDSA P-256
# verification in portable C (micro-ecc class) is the slowest step; hardware (CryptoCell-310 on
# an nRF52840) would roughly halve the total.
LOCK_COST_MS: Final[dict[str, float]] = {
    "x25519": 9.0,
    "ed25519_sign": 12.0,
    "ed25519_verify": 25.0,
    "ecdsa_p256_verify": 45.0,
    "symmetric_and_cbor": 3.0,  # SHA-256, HKDF, ChaCha20-Poly1305, CBOR parsing, per message
    "flash_write": 4.0,  # event, counters; per event written
}
# Phone CPU per step (ms): X25519 + Ed25519 verify are fast on a phone CPU; the device key's
# ECDSA signature in the Secure Enclave / StrongBox is the slow part.
PHONE_COST_MS: Final[dict[str, float]] = {
    "hello": 1.0,
    "verify_door_and_sign": 40.0,
    "check_receipt": 1.0,
}


def _rate(operation: Callable[[], object], *, seconds: float) -> float:
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(20):
            operation()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)


def _air_ms(packets: list[int]) -> float:
    return (
        sum((size + LINK_LAYER_OVERHEAD_BYTES) * 8 / PHY_BITS_PER_MS for size in packets)
        + len(packets) * PACKET_TURNAROUND_MS
    )


def _lock_ms(stats: FirmwareStats, events_written: int, messages: int) -> float:
    return (
        stats.x25519 * LOCK_COST_MS["x25519"]
        + stats.ed25519_signs * LOCK_COST_MS["ed25519_sign"]
        + stats.ed25519_verifications * LOCK_COST_MS["ed25519_verify"]
        + stats.ecdsa_verifications * LOCK_COST_MS["ecdsa_p256_verify"]
        + messages * LOCK_COST_MS["symmetric_and_cbor"]
        + events_written * LOCK_COST_MS["flash_write"]
    )


def model_exchange_ms(
    messages: list[tuple[list[int], float]],
    *,
    interval_ms: float = CONNECTION_INTERVAL_MS,
    packets_per_event: int = PACKETS_PER_EVENT,
) -> float:
    """Time from the first write to the last message received.

    ``messages`` lists, in order, each message's packet sizes and the compute time its sender
    spends before it can be sent. A message waits for the next connection event, then needs
    ``ceil(packets / packets_per_event)`` events.
    """
    t = 0.0
    for packets, compute_ms in messages:
        ready = t + compute_ms
        start = math.ceil(ready / interval_ms - 1e-9) * interval_ms
        events = math.ceil(len(packets) / packets_per_event)
        tail = _air_ms(packets[-((len(packets) - 1) % packets_per_event + 1) :])
        t = start + (events - 1) * interval_ms + tail
    return t


def _unlock(mtu: int) -> dict[str, float | int]:
    bed = Testbed(start=datetime(2026, 3, 2, 7, 10, tzinfo=UTC))
    lock = bed.home_lock(mtu=mtu)
    phone = bed.phone("mette")
    credential = bed.credential(phone, lock.door_id, kinds=[DoorKind.HOME])
    link = bed.links[lock.door_id]
    link.packets_per_event = PACKETS_PER_EVENT
    signs_before = lock.stats.ed25519_signs
    events_before = lock.flash.chain.next_seq
    result = bed.visit(phone, lock, Command.UNLOCK)
    if not result.ok:
        raise RuntimeError(f"benchmark unlock refused: {result.response.result}")
    stats, ops = link.stats, lock.stats
    # The hello costs the lock its ephemeral key, the exchange and the door signature; the
    # request everything else the firmware counted (checks, the receipt's signature).
    hello_ops = FirmwareStats(x25519=2, ed25519_signs=1)
    request_ops = FirmwareStats(
        ed25519_signs=ops.ed25519_signs - signs_before - 1,
        ed25519_verifications=ops.ed25519_verifications,
        ecdsa_verifications=ops.ecdsa_verifications,
    )
    events_written = lock.flash.chain.next_seq - events_before
    (hello, door_hello), (request, response) = stats.exchanges
    hello_ms = _lock_ms(hello_ops, 0, 1)
    request_ms = _lock_ms(request_ops, events_written, 1)
    timeline = [
        (hello, PHONE_COST_MS["hello"]),
        (door_hello, hello_ms),
        (request, PHONE_COST_MS["verify_door_and_sign"]),
        (response, request_ms),
    ]
    modeled = model_exchange_ms(timeline) + PHONE_COST_MS["check_receipt"]
    return {
        "credential_bytes": len(credential),
        "unlock_round_trips": stats.round_trips,
        "unlock_packets": stats.packets_to_door + stats.packets_to_phone,
        "unlock_payload_bytes": stats.payload_bytes,
        "unlock_bytes_on_air": stats.air_bytes,
        "lock_signature_verifications_per_unlock": ops.signature_verifications,
        "lock_cpu_ms": round(hello_ms + request_ms, 1),
        "modeled_unlock_ms": round(modeled, 1),
    }


def run(*, echo: Callable[[str], None] = print) -> dict[str, float | int]:
    """Measure and model one unlock and the issuer's signing rate; print and return figures."""
    figures: dict[str, float | int] = {}
    main = _unlock(247)
    small = _unlock(23)
    figures.update(main)
    figures["unlock_bytes_on_air_mtu23"] = small["unlock_bytes_on_air"]
    figures["modeled_unlock_ms_mtu23"] = small["modeled_unlock_ms"]
    figures["connection_interval_ms"] = CONNECTION_INTERVAL_MS

    from carekey.protocol.keys import IssuerKey

    issuer = IssuerKey.generate("101")
    device = DeviceKey.generate().public
    start = datetime(2026, 3, 2, 6, 45, tzinfo=UTC)

    def issue() -> bytes:
        return issue_credential(
            issuer_key=issuer,
            subject="worker-000123",
            subject_type=SubjectType.EMPLOYEE,
            device_key=device,
            kinds=[DoorKind.HOME, DoorKind.ENTRANCE],
            not_before=start,
            expires=start + timedelta(hours=9),
            serial=42,
            denylist_version=7,
            doors=[b"home-000123", b"entrance-0042"],
        )

    raw_key = Ed25519PrivateKey.generate()
    message = bytes(180)
    figures["issuer_signs_per_s"] = round(_rate(issue, seconds=0.6))
    figures["raw_ed25519_signs_per_s"] = round(_rate(lambda: raw_key.sign(message), seconds=0.6))

    echo("CareKey door protocol benchmark")
    echo(f"  single-door credential:        {figures['credential_bytes']} bytes (target <= 300)")
    echo(
        f"  unlock after connecting:       {figures['unlock_round_trips']} round trips, "
        f"{figures['unlock_packets']} packets (target <= 2 round trips)"
    )
    echo(
        f"  bytes on air (MTU 247):        {figures['unlock_bytes_on_air']} "
        f"(payload {figures['unlock_payload_bytes']}; target <= 1500)"
    )
    echo(f"  bytes on air (MTU 23):         {figures['unlock_bytes_on_air_mtu23']}")
    echo(
        "  lock signature checks/unlock:  "
        f"{figures['lock_signature_verifications_per_unlock']} (Ed25519 credential + ECDSA device)"
    )
    echo(f"  lock CPU per unlock (model):   {figures['lock_cpu_ms']} ms on a 64 MHz Cortex-M4")
    echo(
        f"  modeled unlock:                {figures['modeled_unlock_ms']} ms at a "
        f"{CONNECTION_INTERVAL_MS:.0f} ms connection interval (MTU 23: "
        f"{figures['modeled_unlock_ms_mtu23']} ms; target <= 1000)"
    )
    echo(
        f"  issuer signing:                {figures['issuer_signs_per_s']}/s credentials, "
        f"raw Ed25519 {figures['raw_ed25519_signs_per_s']}/s"
    )
    return figures

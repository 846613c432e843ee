"""``carekey bench protocol``: sizes, round trips, air time and a timing model of one unlock.

What is measured (in this process, real code paths): the credential's size; the round trips,
packets and bytes of one unlock between a :class:`PhoneDriver` and a :class:`HomeLock` over the
in-memory BLE link; the signature checks the lock makes; and the issuer's signing rate next to
raw Ed25519 signing, both measured in the same run. The unlock is measured twice: with a
single-door plain credential, and with what phones really present after a login, a shift
bundle of ``BUNDLE_DOORS`` doors shown to one door as a presentation (the bundle credential,
the door's leaf and its Merkle inclusion proof), whose proof costs the lock a few SHA-256
compressions on top of the same signature checks.

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
from carekey.link.transport import LINK_LAYER_OVERHEAD_BYTES
from carekey.protocol.bundle import HASH_BYTES, decode_presentation, encode_leaf
from carekey.protocol.credential import (
    BundleLeaf,
    DoorKind,
    SubjectType,
    issue_bundle,
    issue_credential,
    present_bundle,
)
from carekey.protocol.denylist import MAX_ENTRIES, DenylistEntry, EntryKind
from carekey.protocol.keys import DeviceKey
from carekey.protocol.session import Command
from carekey.sim.testbed import Testbed

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
    # One SHA-256 compression (64-byte block) in portable C, ≈ 3,800 cycles: the Merkle proof
    # of a bundle presentation costs the leaf hash plus one node hash per proof step.
    "sha256_block": 0.06,
}
# A denylist piece at the lock: its signature, the record and CBOR, and writing its ≤ 2.5 kB of
# records into the sorted list in flash (≈ 10 ms per kB: nRF52-class word writes plus the merge).
PIECE_FLASH_MS_PER_KB: Final = 10.0
PIECE_CPU_MS: Final = (
    LOCK_COST_MS["ed25519_verify"]
    + LOCK_COST_MS["symmetric_and_cbor"]
    + PIECE_FLASH_MS_PER_KB * 2.5
)
# An unlock without the list: hello (ephemeral key, exchange, door signature), the request
# (credential and proof of freshness signatures, the device key's ECDSA, the receipt's signature,
# two messages, one event written).
LOCK_CPU_MS_PER_UNLOCK: Final = (
    2 * LOCK_COST_MS["x25519"]
    + 2 * LOCK_COST_MS["ed25519_sign"]
    + 2 * LOCK_COST_MS["ed25519_verify"]
    + LOCK_COST_MS["ecdsa_p256_verify"]
    + 2 * LOCK_COST_MS["symmetric_and_cbor"]
    + LOCK_COST_MS["flash_write"]
)
BUNDLE_DOORS: Final = 200  # a shift: ≈ 67 citizens x (home, entrance, gate)
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


def _lock_ms(
    stats: FirmwareStats, events_written: int, messages: int, sha256_blocks: int = 0
) -> float:
    return (
        stats.x25519 * LOCK_COST_MS["x25519"]
        + stats.ed25519_signs * LOCK_COST_MS["ed25519_sign"]
        + stats.ed25519_verifications * LOCK_COST_MS["ed25519_verify"]
        + stats.ecdsa_verifications * LOCK_COST_MS["ecdsa_p256_verify"]
        + messages * LOCK_COST_MS["symmetric_and_cbor"]
        + events_written * LOCK_COST_MS["flash_write"]
        + sha256_blocks * LOCK_COST_MS["sha256_block"]
    )


def _sha256_blocks(message_bytes: int) -> int:
    """64-byte compressions SHA-256 needs for a message (padding: 0x80 and a 64-bit length)."""
    return (message_bytes + 9 + 63) // 64


def merkle_sha256_blocks(presentation: bytes) -> int:
    """SHA-256 compressions a door spends checking a presentation's inclusion proof: the leaf
    hash over ``0x00 || [door_id, kinds]`` and one node hash ``0x01 || left || right`` per
    sibling (``bundle.root_from_proof``)."""
    shown = decode_presentation(presentation)
    leaf = len(encode_leaf(shown.door_id, shown.kind_bits))
    return _sha256_blocks(1 + leaf) + len(shown.proof) * _sha256_blocks(1 + 2 * HASH_BYTES)


def shift_leaves(door: bytes, *, doors: int = BUNDLE_DOORS) -> list[BundleLeaf]:
    """A shift of ``doors`` doors, citizen by citizen (home lock, entrance, gate), with serial-
    style ids as the server issues them; ``door`` is the first home lock, whose proof is the
    longest one (⌈log2 doors⌉ siblings)."""
    prefixes = (("HL", DoorKind.HOME), ("EC", DoorKind.ENTRANCE), ("GC", DoorKind.GATE))
    leaves = [BundleLeaf.of(door, DoorKind.HOME)]
    n = 1
    while len(leaves) < doors:
        prefix, kind = prefixes[n % 3]
        leaves.append(BundleLeaf.of(f"{prefix}-{n:06d}".encode(), kind))
        n += 1
    return leaves


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


def _full_list(bed: Testbed, *, versions: int = 50) -> None:
    """Grow the testbed's denylist to its full capacity over ``versions`` versions."""
    import random

    rng = random.Random(7)  # noqa: S311 - reproducible ids, not secrets
    until = bed.clock.now() + timedelta(hours=9)
    entries = [
        DenylistEntry(EntryKind.DEVICE, rng.randbytes(16), until) for _ in range(MAX_ENTRIES)
    ]
    step = math.ceil(len(entries) / versions)
    for i in range(0, len(entries), step):
        bed.denylist_entries.extend(entries[i : i + step])
        bed.denylist_version += 1


def _unlock(
    mtu: int, *, bundle_doors: int | None = None, catch_up: bool = False
) -> dict[str, float | int]:
    """One unlock at a home lock; with ``bundle_doors``, by a presentation of a shift bundle
    of that many doors instead of a single-door credential; with ``catch_up``, at a lock far
    behind a full denylist, the first request carrying the piece with the door's own entry."""
    bed = Testbed(start=datetime(2026, 3, 2, 7, 10, tzinfo=UTC))
    lock = bed.home_lock(b"home-0001" if bundle_doors is None else b"HL-000001", mtu=mtu)
    phone = bed.phone("mette")
    piece_flash_ms = 0.0
    if catch_up:
        _full_list(bed)
        bed.carry_pieces(phone)
        phone.driver.catch_up_pieces = 0  # the unlock alone; the rest is measured apart
        carried = bed.carried()
        assert carried is not None
        piece = carried.piece_for(lock.door_id)
        assert piece is not None
        piece_flash_ms = PIECE_FLASH_MS_PER_KB * len(piece.data) / 1000
    if bundle_doors is None:
        credential = bed.credential(phone, lock.door_id, kinds=[DoorKind.HOME])
        sha256_blocks = 0
    else:
        leaves = shift_leaves(lock.door_id, doors=bundle_doors)
        bundle = issue_bundle(
            issuer_key=bed.issuer_key,
            subject=phone.subject,
            subject_type=SubjectType.EMPLOYEE,
            device_key=phone.device_key.public,
            leaves=leaves,
            not_before=bed.clock.now() - timedelta(minutes=5),
            expires=bed.clock.now() + timedelta(hours=8, minutes=55),
            serial=bed.next_serial(phone.subject),
            denylist_version=bed.denylist_version,
        )
        credential = present_bundle(bundle, leaves, lock.door_id)
        phone.credentials[lock.door_id] = credential
        sha256_blocks = merkle_sha256_blocks(credential)
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
    request_ms = _lock_ms(request_ops, events_written, 1, sha256_blocks) + piece_flash_ms
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
        "merkle_sha256_blocks": sha256_blocks,
    }


def catch_up() -> dict[str, float | int]:
    """A lock 50 versions behind a full list (65,535 entries) caught up by phones in normal
    visits: pieces, bytes, modeled air time and lock CPU for the whole catch-up, and the
    sessions it takes at the default budget per session."""
    bed = Testbed(start=datetime(2026, 3, 2, 7, 10, tzinfo=UTC))
    lock = bed.home_lock()
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id, kinds=[DoorKind.HOME])
    _full_list(bed)
    bed.carry_pieces(phone)
    link = bed.links[lock.door_id]
    link.packets_per_event = PACKETS_PER_EVENT
    carried = bed.carried()
    assert carried is not None
    air_ms = total_ms = 0.0
    sessions = pieces = 0
    while lock.denylist.version < bed.denylist_version and sessions < 100:
        sessions += 1
        result = bed.visit(phone, lock, Command.UNLOCK if sessions % 2 else Command.LOCK)
        if not result.ok:
            raise RuntimeError(f"catch-up visit refused: {result.response.result}")
        pieces += result.catch_up_pieces
        for request, response in link.stats.exchanges[2:]:
            air_ms += model_exchange_ms([(request, 0.0), (response, 0.0)])
            total_ms += model_exchange_ms([(request, 1.0), (response, PIECE_CPU_MS)])
        bed.clock.advance(timedelta(minutes=30))
    if lock.denylist.version != bed.denylist_version:
        raise RuntimeError("the lock did not catch up")
    first = carried.piece_for(lock.door_id)
    return {
        "denylist_catch_up_entries": len(lock.denylist),
        "denylist_catch_up_pieces": len(carried.pieces),
        "denylist_catch_up_bytes": sum(len(p.data) for p in carried.pieces),
        "denylist_catch_up_sessions": sessions,
        "denylist_catch_up_air_s": round(air_ms / 1000, 1),
        "denylist_catch_up_modeled_s": round(total_ms / 1000, 1),
        "denylist_catch_up_lock_cpu_s": round(len(carried.pieces) * PIECE_CPU_MS / 1000, 1),
        "denylist_piece_max_bytes": max(len(p.data) for p in carried.pieces),
        "denylist_first_piece_bytes": 0 if first is None else len(first.data),
    }


def run(*, echo: Callable[[str], None] = print) -> dict[str, float | int]:
    """Measure and model one unlock and the issuer's signing rate; print and return figures."""
    figures: dict[str, float | int] = {}
    main = _unlock(247)
    small = _unlock(23)
    bundle = _unlock(247, bundle_doors=BUNDLE_DOORS)
    figures.update(main)
    del figures["merkle_sha256_blocks"]
    figures["unlock_bytes_on_air_mtu23"] = small["unlock_bytes_on_air"]
    figures["modeled_unlock_ms_mtu23"] = small["modeled_unlock_ms"]
    figures["connection_interval_ms"] = CONNECTION_INTERVAL_MS
    # The path phones really use: a presentation of a shift bundle (see docs/protocol.md).
    figures["bundle_doors"] = BUNDLE_DOORS
    figures["bundle_presentation_bytes"] = bundle["credential_bytes"]
    figures["unlock_round_trips_bundle"] = bundle["unlock_round_trips"]
    figures["unlock_packets_bundle"] = bundle["unlock_packets"]
    figures["unlock_bytes_on_air_bundle"] = bundle["unlock_bytes_on_air"]
    figures["lock_signature_verifications_bundle"] = bundle[
        "lock_signature_verifications_per_unlock"
    ]
    figures["merkle_sha256_blocks_bundle"] = bundle["merkle_sha256_blocks"]
    figures["lock_cpu_ms_bundle"] = bundle["lock_cpu_ms"]
    figures["modeled_unlock_ms_bundle"] = bundle["modeled_unlock_ms"]
    # A lock far behind a full denylist: the unlock (a bundle presentation, the first request
    # carrying the piece with the door's own entry) and the whole catch-up after it.
    behind = _unlock(247, bundle_doors=BUNDLE_DOORS, catch_up=True)
    figures["unlock_ms_with_catch_up"] = behind["modeled_unlock_ms"]
    figures["unlock_bytes_on_air_with_catch_up"] = behind["unlock_bytes_on_air"]
    figures["lock_cpu_ms_with_catch_up"] = behind["lock_cpu_ms"]
    figures.update(catch_up())

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
        f"  shift bundle ({BUNDLE_DOORS} doors):      presentation "
        f"{figures['bundle_presentation_bytes']} bytes, "
        f"{figures['unlock_round_trips_bundle']} round trips, "
        f"{figures['unlock_packets_bundle']} packets, "
        f"{figures['unlock_bytes_on_air_bundle']} bytes on air (MTU 247)"
    )
    echo(
        f"  shift bundle at the lock:      {figures['lock_signature_verifications_bundle']} "
        f"signature checks + {figures['merkle_sha256_blocks_bundle']} SHA-256 blocks, "
        f"{figures['lock_cpu_ms_bundle']} ms CPU; modeled unlock "
        f"{figures['modeled_unlock_ms_bundle']} ms (target <= 1000)"
    )
    echo(
        f"  denylist catch-up:             {figures['denylist_catch_up_entries']} entries in "
        f"{figures['denylist_catch_up_pieces']} pieces ({figures['denylist_catch_up_bytes']} "
        f"bytes), {figures['denylist_catch_up_air_s']} s on air, "
        f"{figures['denylist_catch_up_lock_cpu_s']} s lock CPU, "
        f"{figures['denylist_catch_up_sessions']} sessions"
    )
    echo(
        f"  unlock at a lock behind:       {figures['unlock_ms_with_catch_up']} ms modeled "
        f"({figures['unlock_bytes_on_air_with_catch_up']} bytes on air; target <= 1000)"
    )
    echo(
        f"  issuer signing:                {figures['issuer_signs_per_s']}/s credentials, "
        f"raw Ed25519 {figures['raw_ed25519_signs_per_s']}/s"
    )
    return figures

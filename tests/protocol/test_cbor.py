"""Bounded CBOR decoding of hostile input, and the deterministic encoder."""

from __future__ import annotations

import time
from collections.abc import Callable

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carekey.protocol import cbor
from carekey.protocol.credential import decode_credential
from carekey.protocol.denylist import decode_denylist_update
from carekey.protocol.errors import MESSAGES, DecodeError, ProtocolError
from carekey.protocol.events import decode_event
from carekey.protocol.keys import DoorKey, IssuerKey, IssuerKeyring, sign1
from carekey.protocol.timetoken import decode_time_token

CODES = set(MESSAGES)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.integers(-100, 100) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(values)
def test_round_trip_and_agreement_with_cbor2(value: object) -> None:
    encoded = cbor.dumps(value)
    assert cbor.loads(encoded, max_items=10_000, max_depth=32) == value
    assert cbor2.loads(encoded) == value


def refusal_code(data: bytes, max_depth: int = 8, max_items: int = 512) -> str | None:
    """None if ``data`` decodes, else the refusal code; any other exception fails the test."""
    try:
        cbor.loads(data, max_depth=max_depth, max_items=max_items)
    except ProtocolError as error:
        return error.code
    return None


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_are_refused_cleanly_or_decoded(data: bytes) -> None:
    assert refusal_code(data) in {None, "malformed", "oversized"}


@FUZZ
@given(values, st.integers(min_value=0), st.integers(min_value=0, max_value=255))
def test_mutated_valid_cbor_is_refused_cleanly_or_decoded(
    value: object, position: int, byte: int
) -> None:
    encoded = bytearray(cbor.dumps(value))
    encoded[position % len(encoded)] = byte
    code = refusal_code(bytes(encoded), max_depth=32, max_items=10_000)
    assert code in {None, "malformed", "oversized"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x81" * 100_000, "oversized"),  # deep nesting, larger than the size limit
        (b"\x81" * 100 + b"\x00", "oversized"),  # deep nesting within the size limit
        (b"\xa1\x00" * 100 + b"\x00", "oversized"),  # deep map nesting
        (b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff", "malformed"),  # 2**64-byte string
        (b"\x7b\xff\xff\xff\xff\xff\xff\xff\xff", "malformed"),  # 2**64-byte text
        (b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", "malformed"),  # 2**64-item array
        (b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff", "malformed"),  # 2**64-pair map
        (b"\x5f\x41\x00\xff", "malformed"),  # indefinite-length byte string
        (b"\x9f\x00\xff", "malformed"),  # indefinite-length array
        (b"\xf9\x3c\x00", "malformed"),  # half float
        (b"\xfb" + bytes(8), "malformed"),  # double
        (b"\xf7", "malformed"),  # undefined
        # Second encodings of false/true/null: a float or a one-byte simple value whose bits
        # read 20-22 must not decode as them.
        (b"\xf9\x00\x14", "malformed"),  # half float, bits 20
        (b"\xfa\x00\x00\x00\x15", "malformed"),  # single float, bits 21
        (b"\xfb" + bytes(7) + b"\x16", "malformed"),  # double, bits 22
        (b"\xf8\x14", "malformed"),  # simple value 20 in the two-byte form
        (b"\xc1\x00", "malformed"),  # tag 1 (epoch time) is not allowed
        (b"\x18\x05", "malformed"),  # non-shortest integer head
        (b"\x00\x00", "malformed"),  # trailing bytes
        (b"", "malformed"),
        (b"\x62\xff\xfe", "malformed"),  # invalid UTF-8
        (b"\xa2\x01\x00\x01\x00", "malformed"),  # duplicate map key
        (b"\xa1\x40\x00", "malformed"),  # byte-string map key
        (b"\x1c", "malformed"),  # reserved additional information
    ],
)
def test_hostile_inputs_are_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        cbor.loads(data)
    assert caught.value.code == code


def test_item_count_limit() -> None:
    data = cbor.dumps(list(range(1000)))
    with pytest.raises(DecodeError) as caught:
        cbor.loads(data, max_items=100)
    assert caught.value.code == "oversized"


def test_depth_limit_is_capped_even_when_the_caller_asks_for_more() -> None:
    data = b"\x81" * 1000 + b"\x00"
    with pytest.raises(DecodeError) as caught:
        cbor.loads(data, max_bytes=10_000, max_depth=10**9, max_items=10**9)
    assert caught.value.code == "oversized"


def test_huge_input_is_refused_in_bounded_time() -> None:
    data = b"\x81" * 5_000_000
    start = time.perf_counter()
    with pytest.raises(DecodeError):
        cbor.loads(data, max_bytes=len(data), max_items=len(data))
    assert time.perf_counter() - start < 1.0


def test_allowed_tag_is_decoded() -> None:
    assert cbor.loads(b"\xd2\x80", allowed_tags=frozenset({18})) == cbor.Tag(18, [])


def test_encoder_sorts_map_keys_bytewise_and_uses_shortest_heads() -> None:
    assert cbor.dumps({-1: 0, 1: 0, 24: 0}).hex() == "a3" + "0100" + "1818" + "00" + "2000"
    assert cbor.dumps(65536) == b"\x1a\x00\x01\x00\x00"


def test_encoder_refuses_unknown_types() -> None:
    with pytest.raises(TypeError):
        cbor.dumps(1.5)


# --- every decoder that faces the radio -------------------------------------------------------

_ISSUER = IssuerKey.from_seed("101", bytes(32))
_KEYRING = IssuerKeyring.of([_ISSUER.public])
_DOOR_KEY = DoorKey.from_seed(bytes(32))


def _decoders() -> list[Callable[[bytes], object]]:
    return [
        lambda d: decode_credential(d, keyring=_KEYRING),
        lambda d: decode_time_token(d, keyring=_KEYRING),
        lambda d: decode_denylist_update(d, keyring=_KEYRING),
        lambda d: decode_event(d, door_key=_DOOR_KEY.public),
    ]


hostile = (
    st.binary(max_size=300)
    | st.builds(lambda n: b"\x81" * n + b"\x00", st.integers(0, 50_000))
    | st.builds(lambda v: cbor.dumps(cbor.Tag(18, v)), values)
)


@FUZZ
@given(hostile)
def test_every_decoder_refuses_hostile_bytes_with_a_code(data: bytes) -> None:
    for decode in _decoders():
        with pytest.raises(ProtocolError) as caught:
            decode(data)
        assert caught.value.code in CODES


@pytest.mark.parametrize("depth", [6, 100, 1000])
def test_deep_nesting_inside_a_validly_signed_payload_is_refused(depth: int) -> None:
    payload = b"\x81" * depth + b"\x00"
    for signed in (sign1(payload, _ISSUER.signer), sign1(payload, _DOOR_KEY.signer)):
        for decode in _decoders():
            with pytest.raises(ProtocolError) as caught:
                decode(signed)
            assert caught.value.code in {"oversized", "malformed", "bad_signature"}

"""BLE framing: versions, fragmentation to the MTU, bounded reassembly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekey.protocol.framing import (
    LAST_FRAGMENT,
    PROTOCOL_VERSION,
    FramingError,
    MessageType,
    Reassembler,
    chunk_size,
    decode_message,
    encode_message,
    fragment,
)


def test_message_carries_version_and_type() -> None:
    data = encode_message(MessageType.CLIENT_HELLO, b"\x01" * 32)
    assert data[:2] == bytes((PROTOCOL_VERSION, MessageType.CLIENT_HELLO))
    message = decode_message(data)
    assert message.type is MessageType.CLIENT_HELLO
    assert message.body == b"\x01" * 32


@pytest.mark.parametrize("version", [0, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, 255])
def test_other_versions_are_refused_including_downgrade(version: int) -> None:
    data = bytes((version, MessageType.CLIENT_HELLO)) + bytes(32)
    with pytest.raises(FramingError) as caught:
        decode_message(data)
    assert caught.value.code == "version_unsupported"
    assert "protokolversion" in caught.value.message_da


def test_unknown_type_and_short_messages_are_refused() -> None:
    with pytest.raises(FramingError, match="unknown_message_type"):
        decode_message(bytes((PROTOCOL_VERSION, 0x7E)))
    for short in (b"", b"\x01"):
        with pytest.raises(FramingError, match="malformed"):
            decode_message(short)


def test_oversized_messages_are_refused_both_ways() -> None:
    with pytest.raises(FramingError, match="oversized"):
        encode_message(MessageType.RECORD, bytes(5000))
    with pytest.raises(FramingError, match="oversized"):
        decode_message(bytes((PROTOCOL_VERSION, MessageType.RECORD)) + bytes(5000))


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=2400), mtu=st.sampled_from([23, 27, 185, 247, 517]))
def test_fragments_fit_the_mtu_and_reassemble(body: bytes, mtu: int) -> None:
    packets = fragment(body, mtu=mtu)
    assert all(2 <= len(p) <= mtu - 3 for p in packets)
    assert [p[0] & 0x7F for p in packets] == list(range(len(packets)))
    assert [bool(p[0] & LAST_FRAGMENT) for p in packets] == [False] * (len(packets) - 1) + [True]
    reassembler = Reassembler(mtu=mtu)
    results = [reassembler.feed(p) for p in packets]
    assert results[:-1] == [None] * (len(packets) - 1)
    assert results[-1] == body
    assert not reassembler.pending


def test_a_single_packet_at_the_default_mtu() -> None:
    assert chunk_size(23) == 19
    assert fragment(bytes(19), mtu=23) == [bytes((LAST_FRAGMENT,)) + bytes(19)]
    with pytest.raises(ValueError, match="MTU"):
        chunk_size(22)


def test_out_of_order_fragment_is_refused_and_state_is_dropped() -> None:
    packets = fragment(bytes(range(100)), mtu=23)
    reassembler = Reassembler(mtu=23)
    reassembler.feed(packets[0])
    with pytest.raises(FramingError, match="bad_fragment"):
        reassembler.feed(packets[2])
    assert not reassembler.pending
    # A fresh message starting at index 0 goes through afterwards.
    assert [reassembler.feed(p) for p in packets][-1] == bytes(range(100))


def test_duplicated_fragment_is_refused() -> None:
    packets = fragment(bytes(60), mtu=23)
    reassembler = Reassembler(mtu=23)
    reassembler.feed(packets[0])
    with pytest.raises(FramingError, match="bad_fragment"):
        reassembler.feed(packets[0])


@pytest.mark.parametrize("packet", [b"", b"\x80", bytes(25)])
def test_empty_or_overlong_fragments_are_refused(packet: bytes) -> None:
    with pytest.raises(FramingError, match="bad_fragment"):
        Reassembler(mtu=23).feed(packet)


def test_reassembly_is_bounded_in_size_and_fragment_count() -> None:
    small = Reassembler(mtu=247, max_message_size=300)
    small.feed(bytes((0,)) + bytes(243))
    with pytest.raises(FramingError, match="oversized"):
        small.feed(bytes((LAST_FRAGMENT | 1,)) + bytes(243))

    few = Reassembler(mtu=23, max_fragments=3)
    for index in range(3):
        few.feed(bytes((index,)) + bytes(19))
    with pytest.raises(FramingError, match="oversized"):
        few.feed(bytes((LAST_FRAGMENT | 3,)) + bytes(19))
    with pytest.raises(FramingError, match="oversized"):
        fragment(bytes(19 * 4), mtu=23, max_fragments=3)


def test_caller_times_out_a_partial_message_with_reset() -> None:
    reassembler = Reassembler(mtu=23)
    reassembler.feed(bytes((0,)) + bytes(19))
    assert reassembler.pending
    reassembler.reset()
    assert not reassembler.pending
    assert reassembler.feed(bytes((LAST_FRAGMENT,)) + b"ok") == b"ok"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=40))
def test_garbage_fragments_never_crash_or_grow_without_bound(packets: list[bytes]) -> None:
    reassembler = Reassembler(mtu=23, max_message_size=200)
    for packet in packets:
        try:
            whole = reassembler.feed(packet)
        except FramingError:
            continue
        if whole is not None:
            assert len(whole) <= 200

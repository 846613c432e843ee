"""Bounded CBOR (RFC 8949) for untrusted bytes, and a deterministic encoder.

Everything a phone or a lock sends is decoded here before anything else looks at it, so the
decoder assumes hostile input. It supports only what the protocol uses:

- unsigned and negative integers up to 64 bits, byte strings, UTF-8 text strings, arrays, maps
  with integer or text keys, ``false``/``true``/``null``, and tags from an explicit allow-list;
- definite lengths only (indefinite-length items, floats, ``undefined`` and other simple values
  are refused as ``malformed``);
- shortest-form heads only (RFC 8949 §4.2.1 "preferred serialization"), duplicate map keys
  refused, no trailing bytes.

Limits, each refused as ``oversized``: total input size, nesting depth, and total number of
decoded items (array elements plus map keys and values). A declared length is checked against
the bytes that remain before anything is allocated, and the work is linear in the input size, so
decoding runs in bounded time and memory whatever the input. Recursion depth is capped by
``max_depth`` (itself capped at ``HARD_MAX_DEPTH``), so deeply nested input cannot exhaust the
Python stack.

The encoder emits RFC 8949 §4.2.1 core deterministic encoding (shortest heads, map keys sorted
by their encoded bytes), so signed objects and test vectors are reproducible byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from carekey.protocol.errors import DecodeError

DEFAULT_MAX_BYTES: Final = 4096
DEFAULT_MAX_DEPTH: Final = 8
DEFAULT_MAX_ITEMS: Final = 512
HARD_MAX_DEPTH: Final = 32

TAG_COSE_SIGN1: Final = 18

# What ``loads`` can return (recursively); kept as ``object`` so callers must check types.
CborValue = object


@dataclass(frozen=True, slots=True)
class Tag:
    """A CBOR tag (major type 6) around a value, e.g. ``Tag(18, [...])`` for COSE_Sign1."""

    number: int
    value: object


class _Decoder:
    __slots__ = ("allowed_tags", "data", "items", "max_depth", "max_items", "pos")

    def __init__(
        self, data: bytes, max_depth: int, max_items: int, allowed_tags: frozenset[int]
    ) -> None:
        self.data = data
        self.pos = 0
        self.items = 0
        self.max_depth = max_depth
        self.max_items = max_items
        self.allowed_tags = allowed_tags

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise DecodeError("malformed", "truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def _head(self) -> tuple[int, int]:
        (initial,) = self._take(1)
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info
        if major == 7:
            # Floats (25-27) and one-byte simple values (24) are never used; without this, a
            # float whose bits read 20-22 (``f9 00 14``) would decode as false/true/null: a
            # second encoding of the same value.
            raise DecodeError("malformed", "unsupported simple value or float")
        if info == 24:
            value = self._take(1)[0]
            minimum = 24
        elif info == 25:
            value = int.from_bytes(self._take(2), "big")
            minimum = 0x100
        elif info == 26:
            value = int.from_bytes(self._take(4), "big")
            minimum = 0x10000
        elif info == 27:
            value = int.from_bytes(self._take(8), "big")
            minimum = 0x100000000
        else:
            # 28-30 are reserved; 31 is indefinite length or "break", which we never accept.
            raise DecodeError("malformed", "indefinite length or reserved head")
        if value < minimum:
            raise DecodeError("malformed", "non-shortest head")
        return major, value

    def _count(self, n: int) -> None:
        # Every item needs at least one byte, so a declared count larger than the bytes left is
        # a lie: refuse before allocating anything for it.
        if n > len(self.data) - self.pos:
            raise DecodeError("malformed", "declared count exceeds input")
        self.items += n
        if self.items > self.max_items:
            raise DecodeError("oversized", "too many items")

    def decode(self, depth: int) -> object:
        if depth > self.max_depth:
            raise DecodeError("oversized", "nesting too deep")
        major, arg = self._head()
        if major == 0:
            return arg
        if major == 1:
            return -1 - arg
        if major == 2:
            return self._take(arg)
        if major == 3:
            raw = self._take(arg)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DecodeError("malformed", "invalid UTF-8") from None
        if major == 4:
            self._count(arg)
            return [self.decode(depth + 1) for _ in range(arg)]
        if major == 5:
            self._count(2 * arg)
            result: dict[int | str, object] = {}
            for _ in range(arg):
                key = self.decode(depth + 1)
                if isinstance(key, bool) or not isinstance(key, int | str):
                    raise DecodeError("malformed", "map key must be an integer or text")
                if key in result:
                    raise DecodeError("malformed", "duplicate map key")
                result[key] = self.decode(depth + 1)
            return result
        if major == 6:
            if arg not in self.allowed_tags:
                raise DecodeError("malformed", f"tag {arg} not allowed")
            return Tag(arg, self.decode(depth + 1))
        # major 7: simple values and floats
        if arg == 20:
            return False
        if arg == 21:
            return True
        if arg == 22:
            return None
        raise DecodeError("malformed", "unsupported simple value or float")


def loads(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_items: int = DEFAULT_MAX_ITEMS,
    allowed_tags: frozenset[int] = frozenset(),
) -> object:
    """Decode exactly one CBOR item from untrusted ``data`` within the given limits.

    Raises ``DecodeError`` with code ``oversized`` (a limit was hit) or ``malformed`` (anything
    else: truncation, bad UTF-8, forbidden tag, float, indefinite length, trailing bytes, ...).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("malformed", "not bytes")
    if len(data) > max_bytes:
        raise DecodeError("oversized", f"{len(data)} bytes > {max_bytes}")
    if not data:
        raise DecodeError("malformed", "empty")
    decoder = _Decoder(bytes(data), min(max_depth, HARD_MAX_DEPTH), max_items, allowed_tags)
    value = decoder.decode(0)
    if decoder.pos != len(decoder.data):
        raise DecodeError("malformed", "trailing bytes")
    return value


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([(major << 5) | value])
    if value < 0x100:
        return bytes([(major << 5) | 24, value])
    if value < 0x10000:
        return bytes([(major << 5) | 25]) + struct.pack(">H", value)
    if value < 0x100000000:
        return bytes([(major << 5) | 26]) + struct.pack(">I", value)
    if value < 0x10000000000000000:
        return bytes([(major << 5) | 27]) + struct.pack(">Q", value)
    raise ValueError("integer does not fit in 64 bits")


def _encode(obj: object, out: bytearray) -> None:
    if obj is None:
        out.append(0xF6)
    elif obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    elif isinstance(obj, int):
        out += _head(0, obj) if obj >= 0 else _head(1, -1 - obj)
    elif isinstance(obj, bytes | bytearray):
        out += _head(2, len(obj))
        out += obj
    elif isinstance(obj, str):
        raw = obj.encode("utf-8")
        out += _head(3, len(raw))
        out += raw
    elif isinstance(obj, Tag):
        out += _head(6, obj.number)
        _encode(obj.value, out)
    elif isinstance(obj, Mapping):
        pairs = sorted((dumps(k), v) for k, v in obj.items())
        out += _head(5, len(pairs))
        for key, value in pairs:
            out += key
            _encode(value, out)
    elif isinstance(obj, Sequence):
        out += _head(4, len(obj))
        for item in obj:
            _encode(item, out)
    else:
        raise TypeError(f"cannot encode {type(obj).__name__} as CBOR")


def dumps(obj: object) -> bytes:
    """Encode ``obj`` (int, bytes, str, bool, None, list/tuple, dict, ``Tag``) deterministically."""
    out = bytearray()
    _encode(obj, out)
    return bytes(out)

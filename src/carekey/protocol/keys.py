"""Keys of the door protocol and the one signed envelope they all use (COSE_Sign1, EdDSA).

Three kinds of keys:

- **Issuer keys** (Ed25519), one or more per municipality, held by the server. They sign
  credentials, time tokens and denylists. Each has a key id (``kid``) = the first 8 bytes of
  SHA-256 over the 32-byte raw public key (RFC 8032 encoding). A door holds an
  ``IssuerKeyring``: the set of issuer public keys it trusts, each *active* or *retired*.
  Rotation: add the new key as active on every door (configuration command), start signing with
  it, and retire the old key once every credential it signed has expired (≤ 9 h later). A retired
  key is refused outright (``retired_issuer_key``); a key the door never heard of is refused as
  ``unknown_issuer_key``.
- **Device keys** (ECDSA P-256) of phones, because phone secure hardware (Secure Enclave,
  StrongBox) offers P-256 and not Ed25519. The private key never leaves the phone; credentials
  carry the public key as proof of possession. Signatures are raw ``r || s`` (64 bytes), as in
  COSE ES256. The device key id is the first 16 bytes of SHA-256 over the 33-byte compressed SEC1
  public key; the denylist uses it to block a lost phone.
- **Door keys** (Ed25519), one static key per door, used to sign its event log and receipts.
  Key agreement (X25519) belongs to the session layer.

Every signed object is a tagged COSE_Sign1 (RFC 9052 §4.2) with protected header
``{1: -8 (EdDSA), 4: kid}``, an empty unprotected header and empty external AAD.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError, SignatureError

ALG_EDDSA: Final = -8
KID_BYTES: Final = 8
DEVICE_KEY_ID_BYTES: Final = 16
ED25519_SIGNATURE_BYTES: Final = 64
P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw


def key_id(raw_public_key: bytes) -> bytes:
    """The 8-byte key id of an Ed25519 public key: SHA-256(raw 32-byte key)[:8]."""
    return hashlib.sha256(raw_public_key).digest()[:KID_BYTES]


@dataclass(frozen=True, slots=True)
class Ed25519Public:
    """An Ed25519 public key (32 raw bytes) that verifies signatures."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise ProtocolError("invalid_argument", "Ed25519 public key must be 32 bytes")

    @property
    def kid(self) -> bytes:
        """The key id (SHA-256 of the raw key, first 8 bytes)."""
        return key_id(self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``SignatureError('bad_signature')`` unless ``signature`` signs ``message``."""
        if len(signature) != ED25519_SIGNATURE_BYTES:
            raise SignatureError("bad_signature", "wrong signature length")
        # libsodium (PyNaCl) verifies in ~60 % of the CPU time of OpenSSL through
        # ``cryptography`` here (measured: docs/benchmarks.md), and every uploaded door event is
        # a verification. RFC 8032 signatures; libsodium is, if anything, stricter (it also
        # refuses small-order keys and non-canonical points).
        try:
            nacl.bindings.crypto_sign_open(signature + message, self.raw)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            raise SignatureError("bad_signature") from None


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    """An Ed25519 private key. Build with ``generate()`` or, for test vectors, ``from_seed()``."""

    private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A fresh key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """The key with the given 32-byte RFC 8032 seed (test vectors, sealed key storage)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        """The 32-byte seed, for sealed storage. Handle with care."""
        return self.private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public(self) -> Ed25519Public:
        """The matching public key."""
        return Ed25519Public(self.private.public_key().public_bytes(_RAW, _RAW_PUB))

    @property
    def kid(self) -> bytes:
        """The key id of the public key."""
        return self.public.kid

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature over ``message``."""
        return self.private.sign(message)


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """A municipality's private issuer key (server side) and the issuer code it signs for."""

    issuer: str
    signer: Ed25519Signer

    @classmethod
    def generate(cls, issuer: str) -> IssuerKey:
        """A new random issuer key for municipality code ``issuer`` (e.g. ``"101"``)."""
        return cls(issuer, Ed25519Signer.generate())

    @classmethod
    def from_seed(cls, issuer: str, seed: bytes) -> IssuerKey:
        """The issuer key with a fixed 32-byte seed (test vectors)."""
        return cls(issuer, Ed25519Signer.from_seed(seed))

    @property
    def kid(self) -> bytes:
        """The 8-byte key id."""
        return self.signer.kid

    @property
    def public(self) -> IssuerPublicKey:
        """The public half, as distributed to doors."""
        return IssuerPublicKey(self.issuer, self.signer.public)


@dataclass(frozen=True, slots=True)
class IssuerPublicKey:
    """An issuer public key as a door trusts it: the municipality code and the Ed25519 key."""

    issuer: str
    key: Ed25519Public

    @property
    def kid(self) -> bytes:
        """The 8-byte key id."""
        return self.key.kid


class KeyStatus(StrEnum):
    """Whether a door accepts signatures by an issuer key."""

    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class IssuerKeyring:
    """The issuer keys a door trusts, by key id. Immutable: changes return a new keyring."""

    keys: Mapping[bytes, tuple[IssuerPublicKey, KeyStatus]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, active: Iterable[IssuerPublicKey], retired: Iterable[IssuerPublicKey] = ()
    ) -> IssuerKeyring:
        """A keyring with the given active and retired keys."""
        keys: dict[bytes, tuple[IssuerPublicKey, KeyStatus]] = {}
        for key in retired:
            keys[key.kid] = (key, KeyStatus.RETIRED)
        for key in active:
            if key.kid in keys:
                raise ProtocolError("invalid_argument", "a key cannot be active and retired")
            keys[key.kid] = (key, KeyStatus.ACTIVE)
        return cls(keys)

    def with_active(self, key: IssuerPublicKey) -> IssuerKeyring:
        """Trust ``key`` (rotation step 1). A retired key can never be made active again."""
        current = self.keys.get(key.kid)
        if current is not None and current[1] is KeyStatus.RETIRED:
            raise SignatureError("retired_issuer_key", "a retired key stays retired")
        return IssuerKeyring({**self.keys, key.kid: (key, KeyStatus.ACTIVE)})

    def with_retired(self, kid: bytes) -> IssuerKeyring:
        """Stop trusting ``kid`` (rotation step 2); kept so it is refused by name."""
        if kid not in self.keys:
            raise SignatureError("unknown_issuer_key")
        key, _ = self.keys[kid]
        return IssuerKeyring({**self.keys, kid: (key, KeyStatus.RETIRED)})

    @property
    def active(self) -> tuple[IssuerPublicKey, ...]:
        """The keys currently trusted."""
        return tuple(k for k, s in self.keys.values() if s is KeyStatus.ACTIVE)

    def trusted(self, kid: bytes) -> IssuerPublicKey:
        """The active key with this id, or ``unknown_issuer_key`` / ``retired_issuer_key``."""
        entry = self.keys.get(kid)
        if entry is None:
            raise SignatureError("unknown_issuer_key", kid.hex())
        key, status = entry
        if status is not KeyStatus.ACTIVE:
            raise SignatureError("retired_issuer_key", kid.hex())
        return key


@dataclass(frozen=True, slots=True)
class DoorKey:
    """A door's static Ed25519 signing key (events, receipts). Lives in the lock's secure store."""

    signer: Ed25519Signer

    @classmethod
    def generate(cls) -> DoorKey:
        """A new random door key."""
        return cls(Ed25519Signer.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> DoorKey:
        """The door key with a fixed 32-byte seed (test vectors)."""
        return cls(Ed25519Signer.from_seed(seed))

    @property
    def kid(self) -> bytes:
        """The 8-byte key id."""
        return self.signer.kid

    @property
    def public(self) -> DoorPublicKey:
        """The public half, registered with the server when the door is installed."""
        return DoorPublicKey(self.signer.public)


@dataclass(frozen=True, slots=True)
class DoorPublicKey:
    """A door's public Ed25519 key, as the server and phones know it."""

    key: Ed25519Public

    @property
    def kid(self) -> bytes:
        """The 8-byte key id."""
        return self.key.kid


# --- phone device keys (P-256) ---------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _p256_point(compressed: bytes) -> ec.EllipticCurvePublicKey:
    """The decompressed, on-curve-checked point (raises ``ValueError`` if it is not on P-256).

    A pure function of the bytes, memoised: decompressing a point costs ~0.1 ms, and the server
    parses the same enrolled phone keys on every key bundle (proof check and credential ``cnf``).
    Failures are not cached (``lru_cache`` never stores a raised exception)."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), compressed)


@dataclass(frozen=True, slots=True)
class DevicePublicKey:
    """A phone's P-256 public key, stored as its 33-byte compressed SEC1 point."""

    compressed: bytes

    def __post_init__(self) -> None:
        if len(self.compressed) != 33 or self.compressed[0] not in (2, 3):
            raise DecodeError("malformed", "device key must be a 33-byte compressed P-256 point")
        try:
            _p256_point(bytes(self.compressed))
        except ValueError:
            raise DecodeError("malformed", "device key is not on P-256") from None

    @classmethod
    def from_cryptography(cls, key: ec.EllipticCurvePublicKey) -> DevicePublicKey:
        """Wrap a ``cryptography`` P-256 public key."""
        if not isinstance(key.curve, ec.SECP256R1):
            raise ProtocolError("invalid_argument", "device keys are P-256")
        return cls(
            key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
        )

    def to_cryptography(self) -> ec.EllipticCurvePublicKey:
        """The ``cryptography`` public key object (immutable; shared between equal keys)."""
        return _p256_point(bytes(self.compressed))

    @property
    def x(self) -> bytes:
        """The 32-byte x coordinate."""
        return self.compressed[1:]

    @property
    def y_is_odd(self) -> bool:
        """The sign bit of y (COSE_Key label -3 as a bool, RFC 9053 §7.1.1)."""
        return self.compressed[0] == 3

    @property
    def key_id(self) -> bytes:
        """16-byte id: SHA-256 of the compressed point, first 16 bytes (used by the denylist)."""
        return hashlib.sha256(self.compressed).digest()[:DEVICE_KEY_ID_BYTES]

    def to_cose_key(self) -> dict[int, object]:
        """COSE_Key (RFC 9053): ``{1: 2 (EC2), -1: 1 (P-256), -2: x, -3: sign bit}``."""
        return {1: 2, -1: 1, -2: self.x, -3: self.y_is_odd}

    @classmethod
    def from_cose_key(cls, cose_key: object) -> DevicePublicKey:
        """Parse the compact COSE_Key form written by ``to_cose_key`` (anything else: malformed)."""
        if not isinstance(cose_key, dict) or set(cose_key) != {1, -1, -2, -3}:
            raise DecodeError("malformed", "cnf COSE_Key must have exactly kty, crv, x, y")
        x, y = cose_key[-2], cose_key[-3]
        if cose_key[1] != 2 or cose_key[-1] != 1 or not isinstance(x, bytes) or len(x) != 32:
            raise DecodeError("malformed", "cnf must be an EC2 P-256 key")
        if not isinstance(y, bool):
            raise DecodeError("malformed", "cnf y must be the compressed sign bit")
        return cls(bytes([3 if y else 2]) + x)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Verify a raw ``r || s`` ECDSA P-256 / SHA-256 signature, or raise ``bad_signature``."""
        if len(signature) != 64:
            raise SignatureError("bad_signature", "wrong signature length")
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < P256_ORDER and 0 < s < P256_ORDER):
            raise SignatureError("bad_signature")
        try:
            self.to_cryptography().verify(
                encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            raise SignatureError("bad_signature") from None


class DeviceSigner(Protocol):
    """What a phone's device key offers, wherever it lives (secure hardware, a keystore file, or
    memory in tests): its public half and signatures. The private key is never handed out."""

    @property
    def public(self) -> DevicePublicKey:
        """The public half."""
        ...

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 over ``message``, raw r‖s (64 bytes)."""
        ...


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """A phone's P-256 private key. On a real phone it is non-exportable secure hardware; this
    software stand-in serves the simulator and tests."""

    private: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> DeviceKey:
        """A new random P-256 key."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_scalar(cls, scalar: int) -> DeviceKey:
        """The key with a fixed private scalar (test vectors only)."""
        return cls(ec.derive_private_key(scalar, ec.SECP256R1()))

    @property
    def public(self) -> DevicePublicKey:
        """The public key that goes into credentials."""
        return DevicePublicKey.from_cryptography(self.private.public_key())

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 over ``message``, as raw 64-byte ``r || s``."""
        r, s = decode_dss_signature(self.private.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# --- COSE_Sign1 envelope ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A parsed, not yet verified COSE_Sign1: call ``verify_with`` before trusting ``payload``."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """The Sig_structure (RFC 9052 §4.4) the signature covers."""
        return sig_structure(self.protected, self.payload)

    def verify_with(self, key: Ed25519Public) -> bytes:
        """Check the signature with ``key`` and return the payload, or raise ``bad_signature``."""
        if key.kid != self.kid:
            raise SignatureError("bad_signature", "kid does not name this key")
        key.verify(self.signature, self.to_be_signed())
        return self.payload


_SIGNATURE1_HEAD: Final = b"\x84\x6aSignature1"  # array(4), text(10) "Signature1"


def _bstr_head(n: int) -> bytes:
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x5a" + n.to_bytes(4, "big")
    return b"\x5b" + n.to_bytes(8, "big")


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``["Signature1", protected, h'' (external AAD), payload]`` in deterministic CBOR.

    Written directly (the same bytes as ``cbor.dumps`` of that list; the test vectors check it):
    it is built for every signature made or checked."""
    if type(protected) is not bytes or type(payload) is not bytes:
        return cbor.dumps(["Signature1", protected, b"", payload])
    return b"".join(
        (
            _SIGNATURE1_HEAD,
            _bstr_head(len(protected)),
            protected,
            b"\x40",
            _bstr_head(len(payload)),
            payload,
        )
    )


def sign1(payload: bytes, signer: Ed25519Signer) -> bytes:
    """Wrap ``payload`` in a tagged COSE_Sign1 signed by ``signer`` (EdDSA, kid protected)."""
    protected = cbor.dumps({1: ALG_EDDSA, 4: signer.kid})
    signature = signer.sign(sig_structure(protected, payload))
    return cbor.dumps(cbor.Tag(cbor.TAG_COSE_SIGN1, [protected, {}, payload, signature]))


def parse_sign1(data: bytes, *, max_bytes: int) -> CoseSign1:
    """Parse a tagged COSE_Sign1 from untrusted bytes; only EdDSA with a protected kid is accepted.

    Raises ``malformed``/``oversized`` for structure, ``unsupported_algorithm`` for other
    algorithms. The signature is *not* checked here.
    """
    outer = cbor.loads(
        data, max_bytes=max_bytes, max_depth=3, max_items=8, allowed_tags=frozenset({18})
    )
    if not isinstance(outer, cbor.Tag) or outer.number != cbor.TAG_COSE_SIGN1:
        raise DecodeError("malformed", "not a tagged COSE_Sign1")
    parts = outer.value
    if not isinstance(parts, list) or len(parts) != 4:
        raise DecodeError("malformed", "COSE_Sign1 must have 4 parts")
    protected, unprotected, payload, signature = parts
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise DecodeError("malformed", "protected header and payload must be byte strings")
    if not isinstance(signature, bytes) or unprotected != {}:
        raise DecodeError("malformed", "bad signature field or non-empty unprotected header")
    kid = _protected_kid(protected)
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise SignatureError("bad_signature", "wrong signature length")
    return CoseSign1(protected, kid, payload, signature)


@functools.lru_cache(maxsize=4096)
def _protected_kid(protected: bytes) -> bytes:
    """The kid of a protected header that is exactly ``{alg: EdDSA, kid}``, or raise. Pure, and
    one signer's header is the same bytes every time (a door's thousands of logged events), so
    the answer is cached; a refusal raises again on every call."""
    header = cbor.loads(protected, max_bytes=64, max_depth=1, max_items=8)
    if not isinstance(header, dict) or set(header) != {1, 4}:
        raise DecodeError("malformed", "protected header must be exactly {alg, kid}")
    if header[1] != ALG_EDDSA:
        raise ProtocolError("unsupported_algorithm", repr(header[1]))
    kid = header[4]
    if not isinstance(kid, bytes) or len(kid) != KID_BYTES:
        raise DecodeError("malformed", "kid must be 8 bytes")
    return kid


def open_issuer_signed(data: bytes, *, keyring: IssuerKeyring, max_bytes: int) -> tuple[str, bytes]:
    """Verify an issuer-signed COSE_Sign1 against ``keyring``; return (issuer code, payload)."""
    message = parse_sign1(data, max_bytes=max_bytes)
    key = keyring.trusted(message.kid)
    return key.issuer, message.verify_with(key.key)

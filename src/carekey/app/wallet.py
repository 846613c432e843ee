"""Today's keys on the phone, encrypted under the personal code *and* the device key.

The wallet is one file holding the key bundle of the current login (session token,
``keys_valid_until``, credentials, doors, time token, denylist), as a JSON document:

- ``header`` (plain, no secrets): format version, Argon2id parameters and salt, the *wallet
  point* (the public half of a throw-away P-256 key made when the bundle was stored),
  ``keys_valid_until`` and ``stored_at`` (UTC) and the AES-GCM nonce;
- ``wrong_codes``: wrong personal codes since the last right one;
- ``ciphertext``: AES-256-GCM of the bundle, with the header as associated data.

The key is ``HKDF-SHA256(Argon2id(code, salt) || ECDH(device key, wallet point))``: the personal
code alone, the device alone, or the file alone opens nothing. A stolen file copied to another
machine needs the device key, which on a real phone never leaves its secure hardware.

``wrong_codes`` is the one field outside the associated data, because a wrong code must count
without the key. It is written *before* each attempt, so killing the app mid-attempt still
counts. Someone who can rewrite the app's private files to reset the count also needs the
phone's hardware to try codes; a real phone would keep the count in that hardware too.

Deletion (expiry, WIPE, logout, too many wrong codes) overwrites the file before unlinking it;
every write is atomic (temp file, fsync, rename), so a crash leaves the old or the new wallet.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carekey.app.interfaces import DeviceSigner, WalletStatus
from carekey.app.keystore import remove_stray_temp_files, shred_file, write_file_atomically
from carekey.clock import UTC, Clock, local
from carekey.domain.errors import DomainError
from carekey.protocol.credential import MAX_VALIDITY

log = logging.getLogger(__name__)

FORMAT_VERSION: Final = 1
CODE_MIN_DIGITS: Final = 4
CODE_MAX_DIGITS: Final = 12
_SALT_BYTES: Final = 16
_NONCE_BYTES: Final = 12
_AAD_LABEL: Final = b"carekey-wallet-v1\x00"
_HKDF_INFO: Final = b"carekey-wallet-v1 bundle key"


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost parameters. Stored in each wallet's header, so a wallet written with older
    parameters still opens after they change.

    The default (3 passes over 32 MiB, one lane) takes about 70 ms on the 2-core development
    machine and a few hundred ms on a mid-range phone: unnoticeable once per unlock, expensive
    for someone guessing codes.
    """

    time_cost: int = 3
    memory_kib: int = 32_768
    parallelism: int = 1

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1 or self.memory_kib < 8 * self.parallelism:
            raise ValueError(f"invalid Argon2 parameters: {self}")


PHONE_ARGON2: Final = Argon2Params()


# --- errors --------------------------------------------------------------------------------------


class WalletError(DomainError):
    """A wallet operation failed in a way the user can cause; ``code`` starts with ``wallet.``."""


class WrongCodeError(WalletError):
    """``wallet.wrong_code``: the personal code was wrong; ``attempts_left`` before the wipe."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            "wallet.wrong_code",
            f"Forkert personlig kode; {attempts_left} forsøg tilbage, før nøglerne slettes",
            f"Wrong personal code; {attempts_left} attempts left before the keys are deleted",
        )
        self.attempts_left = attempts_left


class WalletEmptyError(WalletError):
    """``wallet.empty``: no keys are stored (never logged in, logged out, wiped)."""

    def __init__(self) -> None:
        super().__init__(
            "wallet.empty",
            "Der er ingen nøgler på telefonen; log ind for at hente dagens nøgler",
            "There are no keys on the phone; log in to fetch today's keys",
        )


class WalletExpiredError(WalletError):
    """``wallet.expired``: the keys passed ``keys_valid_until`` and have been deleted."""

    def __init__(self, keys_valid_until: dt.datetime) -> None:
        at = local(keys_valid_until).strftime("%H:%M")
        super().__init__(
            "wallet.expired",
            f"Nøglerne udløb kl. {at} og er slettet; log ind igen",
            f"The keys expired at {at} and have been deleted; log in again",
        )
        self.keys_valid_until = keys_valid_until


class WalletWipedError(WalletError):
    """``wallet.wiped_wrong_codes``: this wrong code reached the limit; the keys are deleted."""

    def __init__(self) -> None:
        super().__init__(
            "wallet.wiped_wrong_codes",
            "For mange forkerte koder: nøglerne er slettet; log ind igen",
            "Too many wrong codes: the keys have been deleted; log in again",
        )


class BadCodeFormatError(WalletError):
    """``wallet.bad_code_format``: a personal code is 4-12 digits."""

    def __init__(self) -> None:
        super().__init__(
            "wallet.bad_code_format",
            f"Den personlige kode skal være {CODE_MIN_DIGITS}-{CODE_MAX_DIGITS} cifre",
            f"The personal code must be {CODE_MIN_DIGITS}-{CODE_MAX_DIGITS} digits",
        )


def check_code(code: str) -> None:
    """Raise ``wallet.bad_code_format`` unless ``code`` is 4-12 ASCII digits."""
    if not (CODE_MIN_DIGITS <= len(code) <= CODE_MAX_DIGITS and code.isascii() and code.isdigit()):
        raise BadCodeFormatError


# --- the wallet ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    version: int
    argon2: Argon2Params
    salt: bytes
    wallet_point: bytes
    keys_valid_until: dt.datetime
    stored_at: dt.datetime
    nonce: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "kdf": {"alg": "argon2id", **asdict(self.argon2)},
            "salt": _b64(self.salt),
            "wallet_point": _b64(self.wallet_point),
            "keys_valid_until": self.keys_valid_until.isoformat(),
            "stored_at": self.stored_at.isoformat(),
            "nonce": _b64(self.nonce),
        }

    @classmethod
    def from_json(cls, raw: Any) -> _Header:
        kdf = raw["kdf"]
        if raw["version"] != FORMAT_VERSION or kdf["alg"] != "argon2id":
            raise ValueError("unsupported wallet format")
        header = cls(
            version=raw["version"],
            argon2=Argon2Params(
                time_cost=int(kdf["time_cost"]),
                memory_kib=int(kdf["memory_kib"]),
                parallelism=int(kdf["parallelism"]),
            ),
            salt=_unb64(raw["salt"]),
            wallet_point=_unb64(raw["wallet_point"]),
            keys_valid_until=_aware(raw["keys_valid_until"]),
            stored_at=_aware(raw["stored_at"]),
            nonce=_unb64(raw["nonce"]),
        )
        if len(header.nonce) != _NONCE_BYTES or len(header.salt) != _SALT_BYTES:
            raise ValueError("bad nonce or salt length")
        return header

    def associated_data(self) -> bytes:
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return _AAD_LABEL + canonical.encode()


@dataclass(frozen=True, slots=True)
class _Sealed:
    header: _Header
    wrong_codes: int
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        document = {
            "format": "carekey-wallet",
            "header": self.header.to_json(),
            "wrong_codes": self.wrong_codes,
            "ciphertext": _b64(self.ciphertext),
        }
        return json.dumps(document, indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> _Sealed:
        document = json.loads(data)
        if document["format"] != "carekey-wallet":
            raise ValueError("not a wallet")
        wrong_codes = document["wrong_codes"]
        if not isinstance(wrong_codes, int) or wrong_codes < 0:
            raise ValueError("bad wrong-code counter")
        return cls(
            _Header.from_json(document["header"]), wrong_codes, _unb64(document["ciphertext"])
        )


class Wallet:
    """Today's key bundle, encrypted at rest in the file ``path``.

    ``keystore`` is the phone's device key (:class:`~carekey.app.keystore.DeviceKeystore`);
    ``clock`` decides expiry; ``wrong_code_limit`` wrong codes in a row delete the keys;
    ``argon2`` sets the cost of deriving a key from the code (cheap values for tests only).

    The object holds no secrets between calls: every ``unlock`` re-derives the key and returns the
    bundle, and nothing is cached. It is safe to use from several threads of one process.
    """

    def __init__(
        self,
        path: Path,
        *,
        keystore: DeviceSigner,
        clock: Clock,
        wrong_code_limit: int = 5,
        argon2: Argon2Params = PHONE_ARGON2,
    ) -> None:
        if wrong_code_limit < 1:
            raise ValueError("wrong_code_limit must be at least 1")
        self.path = path
        self._keystore = keystore
        self._clock = clock
        self.wrong_code_limit = wrong_code_limit
        self._argon2 = argon2
        self._lock = threading.RLock()
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stray_temp_files(path)

    def store(self, bundle: dict[str, Any], *, code: str, keys_valid_until: dt.datetime) -> None:
        """Encrypt and store ``bundle``, replacing any stored one; the wrong-code count restarts.

        ``keys_valid_until`` (timezone-aware) is capped at now + 9 hours, so a wrong server or a
        wrong phone clock can never make keys outlive a shift. Keys already expired are refused
        (``wallet.expired``), a malformed code is refused (``wallet.bad_code_format``).
        """
        check_code(code)
        if keys_valid_until.tzinfo is None:
            raise ValueError("keys_valid_until must be timezone-aware")
        now = self._now()
        until = min(keys_valid_until.astimezone(UTC), now + MAX_VALIDITY)
        if until <= now:
            raise WalletExpiredError(until)
        plaintext = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
        # The wallet point's private half exists only for this line; the device key recreates
        # the same shared secret from the public half on every unlock.
        throwaway = ec.generate_private_key(ec.SECP256R1())
        header = _Header(
            version=FORMAT_VERSION,
            argon2=self._argon2,
            salt=os.urandom(_SALT_BYTES),
            wallet_point=throwaway.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            ),
            keys_valid_until=until,
            stored_at=now,
            nonce=os.urandom(_NONCE_BYTES),
        )
        del throwaway
        key = self._derive(header, code)
        ciphertext = AESGCM(key).encrypt(header.nonce, plaintext, header.associated_data())
        with self._lock:
            write_file_atomically(self.path, _Sealed(header, 0, ciphertext).to_bytes())

    def unlock(self, code: str) -> dict[str, Any]:
        """Decrypt the bundle with the personal code.

        Raises ``wallet.bad_code_format`` (not counted: it cannot be right), ``wallet.empty``,
        ``wallet.expired`` (the keys are deleted on the spot), ``wallet.wrong_code`` with
        ``attempts_left``, or ``wallet.wiped_wrong_codes`` when this code reached the limit.
        """
        check_code(code)
        with self._lock:
            sealed = self._read()
            if sealed is None:
                raise WalletEmptyError
            if self._now() >= sealed.header.keys_valid_until:
                self._delete("expired")
                raise WalletExpiredError(sealed.header.keys_valid_until)
            # Count first: a crash or a killed app during the attempt still spends it.
            attempt = _Sealed(sealed.header, sealed.wrong_codes + 1, sealed.ciphertext)
            write_file_atomically(self.path, attempt.to_bytes())
            try:
                plaintext = AESGCM(self._derive(sealed.header, code)).decrypt(
                    sealed.header.nonce, sealed.ciphertext, sealed.header.associated_data()
                )
            except InvalidTag:
                if attempt.wrong_codes >= self.wrong_code_limit:
                    self._delete("wrong_codes")
                    raise WalletWipedError from None
                raise WrongCodeError(self.wrong_code_limit - attempt.wrong_codes) from None
            write_file_atomically(
                self.path, _Sealed(sealed.header, 0, sealed.ciphertext).to_bytes()
            )
        bundle = json.loads(plaintext)
        if not isinstance(bundle, dict):
            raise TypeError("the stored bundle is not a JSON object")
        return bundle

    def status(self) -> WalletStatus:
        """What the app may show without the code: keys stored, valid until, wrong codes.

        Expired keys still show as present until :meth:`expire_if_due` (or an unlock) deletes
        them; call that first when the answer matters.
        """
        with self._lock:
            sealed = self._read()
        if sealed is None:
            return WalletStatus(False, None, 0, self.wrong_code_limit)
        return WalletStatus(
            True, sealed.header.keys_valid_until, sealed.wrong_codes, self.wrong_code_limit
        )

    def expire_if_due(self) -> bool:
        """Delete the keys if ``keys_valid_until`` has passed; True if it deleted them.

        Reads the time limit from the file, so it works on a fresh ``Wallet`` after a restart:
        call it when the app starts and on a timer.
        """
        with self._lock:
            sealed = self._read()
            if sealed is None or self._now() < sealed.header.keys_valid_until:
                return False
            self._delete("expired")
            return True

    def wipe(self, reason: str) -> bool:
        """Delete the keys now (WIPE from the heartbeat, logout); True if keys were stored."""
        with self._lock:
            return self._delete(reason)

    def change_code(self, old: str, new: str) -> None:
        """Re-encrypt the stored keys under the personal code ``new``.

        ``old`` is checked like an unlock (a wrong one counts towards the limit). The bundle gets a
        fresh salt, wallet point and nonce; ``keys_valid_until`` stays.
        """
        check_code(new)
        with self._lock:
            bundle = self.unlock(old)
            sealed = self._read()
            if sealed is None:  # pragma: no cover - unlock just proved it is there
                raise WalletEmptyError
            self.store(bundle, code=new, keys_valid_until=sealed.header.keys_valid_until)

    # --- internals ----------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self._clock.now().astimezone(UTC)

    def _derive(self, header: _Header, code: str) -> bytes:
        params = header.argon2
        from_code = hash_secret_raw(
            code.encode("ascii"),
            header.salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            type=Type.ID,
        )
        from_device = self._keystore.agree(header.wallet_point)
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=_HKDF_INFO).derive(
            from_code + from_device
        )

    def _read(self) -> _Sealed | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _Sealed.from_bytes(data)
        except (ValueError, KeyError, TypeError, binascii.Error):
            # Atomic writes make this a foreign or tampered file; it cannot be opened either way.
            log.warning("wallet file %s is damaged; deleting it", self.path)
            shred_file(self.path)
            return None

    def _delete(self, reason: str) -> bool:
        removed = shred_file(self.path)
        remove_stray_temp_files(self.path)
        if removed:
            log.info("wallet emptied: %s", reason)
        return removed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def _aware(text: Any) -> dt.datetime:
    if not isinstance(text, str):
        raise TypeError("expected an ISO 8601 time")
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("wallet times must be timezone-aware")
    return when.astimezone(UTC)

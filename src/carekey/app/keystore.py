"""The phone's device key (P-256), kept the way secure hardware would keep it.

A real phone generates the device key inside its secure hardware (Secure Enclave on iOS,
StrongBox / the hardware-backed Android Keystore) as a non-exportable P-256 key: the app can only
ask the hardware to sign or to agree a key, and the private scalar never reaches the app's
memory or its files. This module is the software stand-in for that hardware, so the key app,
the simulator and the tests run the same code paths as a phone would:

- the key is a P-256 key generated from the operating system's CSPRNG;
- it is stored in one file (mode 0600), sealed with AES-256-GCM under a key derived by HKDF from
  the *hardware secret*: the ``CAREKEY_APP_HARDWARE_SECRET`` environment variable if it is set,
  otherwise a per-install random secret file next to the key file (``<name>.hwsecret``, 0600).
  The secret file stands in for the key the hardware fuses into the chip; on a desktop it only
  protects against a copy of the key file taken without it;
- no public method returns the private key: :class:`DeviceKeystore` offers ``public``, ``sign``
  and ``agree`` (the :class:`~carekey.app.interfaces.DeviceSigner` contract) and ``destroy``.

File format: ``b"CKDK" || version (1 byte) || compressed public key (33 bytes) || nonce (12) ||
AES-GCM(private scalar, 32 bytes)``; the first 38 bytes are the associated data, so a file whose
public key was swapped is refused.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carekey.domain.errors import DomainError
from carekey.protocol.keys import DevicePublicKey

HARDWARE_SECRET_ENV: Final = "CAREKEY_APP_HARDWARE_SECRET"  # noqa: S105 - a variable's name
INSTALL_FILE_SUFFIX: Final = ".hwsecret"  # the per-install secret next to the key

_MAGIC: Final = b"CKDK"
_VERSION: Final = 1
_HEADER_LEN: Final = len(_MAGIC) + 1 + 33
_NONCE_LEN: Final = 12
_SCALAR_LEN: Final = 32
_FILE_LEN: Final = _HEADER_LEN + _NONCE_LEN + _SCALAR_LEN + 16


class KeystoreError(DomainError):
    """The device key cannot be used; ``code`` starts with ``keystore.``."""


def _missing(path: Path) -> KeystoreError:
    return KeystoreError(
        "keystore.missing",
        f"Telefonen har ingen enhedsnøgle ({path}); tilmeld telefonen igen",
        f"The phone has no device key ({path}); enrol the phone again",
    )


class DeviceKeystore:
    """The device key behind the :class:`~carekey.app.interfaces.DeviceSigner` contract.

    Build it with :meth:`create` (enrolment) or :meth:`open` (every later start). It can also be
    passed wherever ``carekey.link.driver.PhoneDriver`` takes a device key: it offers the same
    ``public`` and ``sign``.
    """

    __slots__ = ("__private", "_path", "_public")

    def __init__(self, path: Path, private: ec.EllipticCurvePrivateKey) -> None:
        """Internal: use :meth:`create` or :meth:`open`."""
        if not isinstance(private.curve, ec.SECP256R1):
            raise ValueError("device keys are P-256")
        self._path = path
        # Name-mangled and slotted: nothing outside this class reaches the key by accident.
        self.__private: ec.EllipticCurvePrivateKey | None = private
        self._public = DevicePublicKey.from_cryptography(private.public_key())

    def __repr__(self) -> str:
        return f"DeviceKeystore(path={str(self._path)!r}, key_id={self._public.key_id.hex()})"

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> DeviceKeystore:
        """Generate a new P-256 device key and store it sealed at ``path`` (mode 0600).

        Refuses (``keystore.exists``) to replace a key that is already there: a new key means a
        new enrolment, so the old one must be destroyed on purpose first.
        """
        if path.exists():
            raise KeystoreError(
                "keystore.exists",
                "Telefonen har allerede en enhedsnøgle",
                "The phone already has a device key",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        private = ec.generate_private_key(ec.SECP256R1())
        header = _header(DevicePublicKey.from_cryptography(private.public_key()))
        nonce = os.urandom(_NONCE_LEN)
        scalar = private.private_numbers().private_value.to_bytes(_SCALAR_LEN, "big")
        sealed = AESGCM(_kek(path, create=True)).encrypt(nonce, scalar, header)
        write_file_atomically(path, header + nonce + sealed)
        return cls(path, private)

    @classmethod
    def open(cls, path: Path) -> DeviceKeystore:
        """Open the device key stored at ``path``.

        Raises ``keystore.missing`` if there is none, ``keystore.malformed`` for a damaged file
        and ``keystore.sealed`` when the hardware secret does not open it (the file was copied
        to another install, or ``CAREKEY_APP_HARDWARE_SECRET`` changed).
        """
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise _missing(path) from None
        if len(data) != _FILE_LEN or data[:4] != _MAGIC or data[4] != _VERSION:
            raise KeystoreError(
                "keystore.malformed",
                "Enhedsnøglens fil er beskadiget",
                "The device key file is damaged",
            )
        header = data[:_HEADER_LEN]
        nonce = data[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN]
        try:
            kek = _kek(path, create=False)
            scalar = AESGCM(kek).decrypt(nonce, data[_HEADER_LEN + _NONCE_LEN :], header)
        except (InvalidTag, FileNotFoundError):
            raise KeystoreError(
                "keystore.sealed",
                "Enhedsnøglen kan ikke åbnes på denne installation",
                "The device key cannot be opened on this install",
            ) from None
        private = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
        keystore = cls(path, private)
        if keystore.public.compressed != header[5:]:
            raise KeystoreError(
                "keystore.malformed",
                "Enhedsnøglens fil er beskadiget",
                "The device key file is damaged",
            )
        return keystore

    @staticmethod
    def exists(path: Path) -> bool:
        """Whether a device key is stored at ``path`` (it may still fail to open)."""
        return path.is_file()

    def destroy(self) -> None:
        """Delete the device key for good (unenrolment, a factory reset).

        The key file and the per-install secret file are overwritten and unlinked; afterwards this
        object refuses to sign (``keystore.missing``). Wallets sealed to the key can never be
        opened again, which is the point.
        """
        self.__private = None
        shred_file(self._path)
        shred_file(_secret_path(self._path))

    # --- what the hardware lets the app do -----------------------------------------------------

    @property
    def path(self) -> Path:
        """Where the sealed key lives."""
        return self._path

    @property
    def public(self) -> DevicePublicKey:
        """The public key that goes into enrolment and credentials."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """ECDSA P-256 / SHA-256 over ``message``, raw 64-byte ``r || s`` (COSE ES256)."""
        der = self._key().sign(message, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def agree(self, peer_public_point: bytes) -> bytes:
        """ECDH with a compressed (33 bytes) or uncompressed (65 bytes) P-256 point.

        Returns the 32-byte shared secret (the x coordinate); feed it to a KDF, never use it as a
        key directly. A point that is not on the curve raises ``keystore.bad_point``.
        """
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public_point)
        except ValueError:
            raise KeystoreError(
                "keystore.bad_point",
                "Ugyldigt offentligt punkt til nøgleaftale",
                "Invalid public point for key agreement",
            ) from None
        return self._key().exchange(ec.ECDH(), peer)

    def _key(self) -> ec.EllipticCurvePrivateKey:
        key = self.__private
        if key is None:
            raise _missing(self._path)
        return key


# --- the stand-in for the chip's fused key --------------------------------------------------------


def _header(public: DevicePublicKey) -> bytes:
    return _MAGIC + bytes([_VERSION]) + public.compressed


def _secret_path(path: Path) -> Path:
    return path.with_name(path.name + INSTALL_FILE_SUFFIX)


def _kek(path: Path, *, create: bool) -> bytes:
    """The key-encryption key: HKDF over the environment's secret or the per-install file."""
    env = os.environ.get(HARDWARE_SECRET_ENV)
    if env:
        secret = env.encode()
    else:
        secret_path = _secret_path(path)
        if create and not secret_path.exists():
            write_file_atomically(secret_path, secrets.token_bytes(32))
        secret = secret_path.read_bytes()
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"carekey-app-keystore-v1", info=b"device-key"
    ).derive(secret)


# --- file helpers shared by the app's storage -----------------------------------------------------


def write_file_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file.

    Writes a temp file in the same directory (created with ``mode``, so the data is never
    readable by others, not even for a moment), fsyncs it, renames it over ``path`` and fsyncs
    the directory so the rename itself is durable. A crash before the rename leaves a stray
    ``.<name>.*.tmp`` file that readers ignore and :func:`remove_stray_temp_files` deletes.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def remove_stray_temp_files(path: Path) -> int:
    """Shred temp files a crash left behind by :func:`write_file_atomically`; how many."""
    count = 0
    for stray in path.parent.glob(f".{path.name}.*.tmp"):
        count += shred_file(stray)
    return count


def shred_file(path: Path) -> bool:
    """Overwrite ``path`` with random bytes, fsync it and unlink it; False if it did not exist.

    Overwriting defeats a later read of the same file blocks on ordinary file systems; flash
    storage with wear levelling may keep old copies, which is why what we store is always
    ciphertext in the first place.
    """
    try:
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.write(secrets.token_bytes(size))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

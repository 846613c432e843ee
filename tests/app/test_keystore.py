"""The device key: sealed at rest, usable only through sign / agree, never exported."""

from __future__ import annotations

import datetime as dt
import shutil
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from carekey.app.interfaces import DeviceSigner
from carekey.app.keystore import (
    HARDWARE_SECRET_ENV,
    DeviceKeystore,
    KeystoreError,
    write_file_atomically,
)
from carekey.link.driver import PhoneDriver
from carekey.protocol.errors import SignatureError
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed


@pytest.fixture(autouse=True)
def _no_hardware_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HARDWARE_SECRET_ENV, raising=False)


def _scalar(keystore: DeviceKeystore) -> bytes:
    """Test-only peek at the private scalar, to prove it shows up nowhere else."""
    private: ec.EllipticCurvePrivateKey = keystore._DeviceKeystore__private  # type: ignore[attr-defined]
    return private.private_numbers().private_value.to_bytes(32, "big")


def test_round_trip_reopens_the_same_key(tmp_path: Path) -> None:
    created = DeviceKeystore.create(tmp_path / "keystore.bin")
    assert DeviceKeystore.exists(tmp_path / "keystore.bin")
    opened = DeviceKeystore.open(tmp_path / "keystore.bin")
    assert opened.public == created.public
    message = b"challenge"
    created.public.verify(opened.sign(message), message)


def test_a_signature_verifies_with_device_public_key(tmp_path: Path) -> None:
    keystore = DeviceKeystore.create(tmp_path / "keystore.bin")
    signature = keystore.sign(b"phone auth")
    assert len(signature) == 64
    keystore.public.verify(signature, b"phone auth")
    with pytest.raises(SignatureError):
        keystore.public.verify(signature, b"something else")


def test_agree_gives_the_same_secret_on_both_sides(tmp_path: Path) -> None:
    keystore = DeviceKeystore.create(tmp_path / "keystore.bin")
    peer = ec.generate_private_key(ec.SECP256R1())
    for fmt in (
        serialization.PublicFormat.CompressedPoint,
        serialization.PublicFormat.UncompressedPoint,
    ):
        point = peer.public_key().public_bytes(serialization.Encoding.X962, fmt)
        assert keystore.agree(point) == peer.exchange(ec.ECDH(), keystore.public.to_cryptography())
    with pytest.raises(KeystoreError) as exc:
        keystore.agree(b"\x02" + b"\xff" * 32)
    assert exc.value.code == "keystore.bad_point"


def test_the_private_key_is_never_exported(tmp_path: Path) -> None:
    keystore = DeviceKeystore.create(tmp_path / "keystore.bin")
    scalar = _scalar(keystore)
    # Nothing public hands out a private key or its bytes.
    for name in dir(keystore):
        if name.startswith("_") or name in {"create", "open", "exists", "destroy"}:
            continue
        value = getattr(keystore, name)
        results = [value(b"\x01" * 32)] if name == "sign" else [value]
        if name == "agree":
            results = [value(keystore.public.compressed)]
        for result in results:
            assert not isinstance(result, ec.EllipticCurvePrivateKey), name
            assert scalar.hex() not in repr(result), name
            if isinstance(result, bytes):
                assert scalar not in result, name
    assert scalar.hex() not in repr(keystore)
    # Nor does the disk: no file holds the scalar in the clear.
    for file in tmp_path.iterdir():
        assert scalar not in file.read_bytes(), file


def test_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    DeviceKeystore.create(tmp_path / "keystore.bin")
    files = list(tmp_path.iterdir())
    assert {f.name for f in files} == {"keystore.bin", "keystore.bin.hwsecret"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_copied_key_file_does_not_open_without_the_install_secret(tmp_path: Path) -> None:
    DeviceKeystore.create(tmp_path / "phone" / "keystore.bin")
    (tmp_path / "thief").mkdir()
    shutil.copy(tmp_path / "phone" / "keystore.bin", tmp_path / "thief" / "keystore.bin")
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.open(tmp_path / "thief" / "keystore.bin")
    assert exc.value.code == "keystore.sealed"


def test_the_environment_secret_replaces_the_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HARDWARE_SECRET_ENV, "fused-into-the-chip")
    created = DeviceKeystore.create(tmp_path / "keystore.bin")
    assert [f.name for f in tmp_path.iterdir()] == ["keystore.bin"]
    assert DeviceKeystore.open(tmp_path / "keystore.bin").public == created.public
    monkeypatch.setenv(HARDWARE_SECRET_ENV, "another-chip")
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.open(tmp_path / "keystore.bin")
    assert exc.value.code == "keystore.sealed"


def test_a_swapped_public_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keystore.bin"
    DeviceKeystore.create(path)
    data = bytearray(path.read_bytes())
    other = DeviceKeystore.create(tmp_path / "other.bin").public.compressed
    data[5:38] = other
    path.write_bytes(bytes(data))
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.open(path)
    assert exc.value.code == "keystore.sealed"


def test_create_refuses_to_replace_a_key_and_destroy_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "keystore.bin"
    keystore = DeviceKeystore.create(path)
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.create(path)
    assert exc.value.code == "keystore.exists"
    keystore.destroy()
    assert list(tmp_path.iterdir()) == []
    assert not DeviceKeystore.exists(path)
    with pytest.raises(KeystoreError) as exc:
        keystore.sign(b"after destroy")
    assert exc.value.code == "keystore.missing"
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.open(path)
    assert exc.value.code == "keystore.missing"


def test_a_damaged_key_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "keystore.bin"
    DeviceKeystore.create(path)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(KeystoreError) as exc:
        DeviceKeystore.open(path)
    assert exc.value.code == "keystore.malformed"


def test_a_crash_during_an_atomic_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.bin"
    write_file_atomically(path, b"old")

    def power_cut(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr("os.replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        write_file_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["file.bin"]


def test_it_is_a_device_signer_and_opens_a_door_through_phone_driver(tmp_path: Path) -> None:
    keystore = DeviceKeystore.create(tmp_path / "keystore.bin")
    signer: DeviceSigner = keystore
    bed = Testbed(start=dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC))
    lock = bed.home_lock()
    # PhoneDriver is annotated with the concrete DeviceKey; it only uses .public and .sign.
    driver = PhoneDriver(device_key=signer)  # type: ignore[arg-type]
    driver.time_tokens = lambda door_id, nonce: bed.time_token(door_id, nonce)
    driver.denylist = bed.denylist_for
    phone = Phone(driver=driver, subject="mette")
    driver.freshness = lambda: bed.freshness(phone)
    bed.credential(phone, lock.door_id)
    result = bed.visit(phone, lock, Command.UNLOCK)
    assert result.ok
    assert result.receipt is not None
    assert result.receipt.subject == "mette"

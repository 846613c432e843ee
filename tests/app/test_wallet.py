"""The wallet: today's keys need the personal code *and* the device, and die on time."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from carekey.app.keystore import HARDWARE_SECRET_ENV, DeviceKeystore
from carekey.app.wallet import (
    Argon2Params,
    BadCodeFormatError,
    Wallet,
    WalletEmptyError,
    WalletExpiredError,
    WalletWipedError,
    WrongCodeError,
)
from carekey.clock import FrozenClock

START = dt.datetime(2026, 3, 2, 6, 45, tzinfo=dt.UTC)
FAST = Argon2Params(time_cost=1, memory_kib=8, parallelism=1)  # tests only
CODE = "482913"
CREDENTIAL = "CRED-5f1c9a-ONLY-IN-THE-BUNDLE"


def bundle() -> dict[str, Any]:
    return {
        "session_token": "sess-abcdef",
        "keys_valid_until": (START + dt.timedelta(hours=9)).isoformat(),
        "credentials": [{"door_id": "HL-0001", "credential": CREDENTIAL}],
        "doors": [{"door_id": "HL-0001", "citizen": "Karen Jensen", "address": "Vestergade 3"}],
        "denylist": "AAEC",
    }


@pytest.fixture(autouse=True)
def _no_hardware_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HARDWARE_SECRET_ENV, raising=False)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def keystore(tmp_path: Path) -> DeviceKeystore:
    return DeviceKeystore.create(tmp_path / "phone" / "keystore.bin")


def make_wallet(path: Path, keystore: DeviceKeystore, clock: FrozenClock, limit: int = 5) -> Wallet:
    return Wallet(path, keystore=keystore, clock=clock, wrong_code_limit=limit, argon2=FAST)


@pytest.fixture
def wallet_path(tmp_path: Path) -> Path:
    return tmp_path / "phone" / "wallet.bin"


@pytest.fixture
def wallet(wallet_path: Path, keystore: DeviceKeystore, clock: FrozenClock) -> Wallet:
    wallet = make_wallet(wallet_path, keystore, clock)
    wallet.store(bundle(), code=CODE, keys_valid_until=START + dt.timedelta(hours=9))
    return wallet


def test_round_trip(wallet: Wallet) -> None:
    assert wallet.unlock(CODE) == bundle()
    status = wallet.status()
    assert status.present
    assert status.keys_valid_until == START + dt.timedelta(hours=9)
    assert status.wrong_codes == 0
    assert status.wrong_code_limit == 5
    assert stat.S_IMODE(wallet.path.stat().st_mode) == 0o600


def test_wrong_codes_count_down_across_restarts_and_the_limit_wipes(
    wallet_path: Path, keystore: DeviceKeystore, clock: FrozenClock
) -> None:
    wallet = make_wallet(wallet_path, keystore, clock, limit=3)
    wallet.store(bundle(), code=CODE, keys_valid_until=START + dt.timedelta(hours=8))
    with pytest.raises(WrongCodeError) as exc:
        wallet.unlock("0000")
    assert exc.value.code == "wallet.wrong_code"
    assert exc.value.attempts_left == 2
    assert exc.value.message_da.startswith("Forkert personlig kode; 2 forsøg tilbage")
    # A right code resets the count.
    assert wallet.unlock(CODE) == bundle()
    assert wallet.status().wrong_codes == 0
    with pytest.raises(WrongCodeError):
        wallet.unlock("1111")
    # The count lives in the file: restarting the app does not reset it.
    wallet = make_wallet(wallet_path, keystore, clock, limit=3)
    assert wallet.status().wrong_codes == 1
    with pytest.raises(WrongCodeError) as exc:
        wallet.unlock("2222")
    assert exc.value.attempts_left == 1
    with pytest.raises(WalletWipedError) as wiped:
        wallet.unlock("3333")
    assert wiped.value.code == "wallet.wiped_wrong_codes"
    assert not wallet_path.exists()
    assert not wallet.status().present
    with pytest.raises(WalletEmptyError) as empty:
        wallet.unlock(CODE)
    assert empty.value.code == "wallet.empty"


def test_a_stolen_wallet_file_does_not_open_on_another_device_even_with_the_code(
    wallet: Wallet, tmp_path: Path, clock: FrozenClock
) -> None:
    (tmp_path / "thief").mkdir()
    stolen = tmp_path / "thief" / "wallet.bin"
    shutil.copy(wallet.path, stolen)
    other_device = DeviceKeystore.create(tmp_path / "thief" / "keystore.bin")
    thief = make_wallet(stolen, other_device, clock)
    with pytest.raises(WrongCodeError):
        thief.unlock(CODE)
    # The same file still opens on the phone it belongs to, with the code only.
    assert wallet.unlock(CODE) == bundle()


def test_without_the_code_the_device_opens_nothing(wallet: Wallet) -> None:
    for guess in ("1234", "0000", "48291", "4829130", "482914"):
        with pytest.raises((WrongCodeError, WalletWipedError)):
            wallet.unlock(guess)
    assert not wallet.status().present


def test_the_header_is_bound_to_the_ciphertext(wallet: Wallet) -> None:
    document = json.loads(wallet.path.read_bytes())
    later = START + dt.timedelta(hours=30)
    document["header"]["keys_valid_until"] = later.isoformat()
    wallet.path.write_bytes(json.dumps(document).encode())
    with pytest.raises(WrongCodeError):
        wallet.unlock(CODE)


def test_keys_expire_while_the_app_is_closed(
    wallet_path: Path, keystore: DeviceKeystore, clock: FrozenClock
) -> None:
    wallet = make_wallet(wallet_path, keystore, clock)
    wallet.store(bundle(), code=CODE, keys_valid_until=START + dt.timedelta(hours=8))
    assert not wallet.expire_if_due()
    del wallet  # the app is closed ...
    clock.advance(dt.timedelta(hours=8, seconds=1))  # ... through the end of the shift
    restarted = make_wallet(wallet_path, keystore, clock)
    assert restarted.status().present  # still on disk until the start-up check runs
    assert restarted.expire_if_due()
    assert not wallet_path.exists()
    assert not restarted.status().present
    assert not restarted.expire_if_due()
    with pytest.raises(WalletEmptyError):
        restarted.unlock(CODE)


def test_unlocking_expired_keys_deletes_them(wallet: Wallet, clock: FrozenClock) -> None:
    clock.advance(dt.timedelta(hours=9))
    with pytest.raises(WalletExpiredError) as exc:
        wallet.unlock(CODE)
    assert exc.value.code == "wallet.expired"
    assert "16:45" in exc.value.message_da  # 15:45 UTC, rendered in Copenhagen time
    assert not wallet.path.exists()


def test_keys_never_live_longer_than_nine_hours(
    wallet_path: Path, keystore: DeviceKeystore, clock: FrozenClock
) -> None:
    wallet = make_wallet(wallet_path, keystore, clock)
    wallet.store(bundle(), code=CODE, keys_valid_until=START + dt.timedelta(days=2))
    assert wallet.status().keys_valid_until == START + dt.timedelta(hours=9)
    with pytest.raises(WalletExpiredError):
        wallet.store(bundle(), code=CODE, keys_valid_until=START)


def test_wipe_deletes_the_keys(wallet: Wallet) -> None:
    assert wallet.wipe("heartbeat WIPE")
    assert not wallet.path.exists()
    assert not wallet.status().present
    assert not wallet.wipe("logout")
    with pytest.raises(WalletEmptyError):
        wallet.unlock(CODE)


def test_deletion_overwrites_the_file_before_unlinking_it(
    wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = wallet.path.read_bytes()
    seen_at_unlink: list[bytes] = []
    real_unlink = Path.unlink

    def spy(self: Path, missing_ok: bool = False) -> None:
        seen_at_unlink.append(self.read_bytes())
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", spy)
    wallet.wipe("logout")
    assert len(seen_at_unlink) == 1
    assert len(seen_at_unlink[0]) == len(original)
    assert seen_at_unlink[0] != original
    assert b"ciphertext" not in seen_at_unlink[0]


def test_no_plaintext_of_the_bundle_is_left_anywhere(wallet: Wallet, tmp_path: Path) -> None:
    wallet.unlock(CODE)
    with pytest.raises(WrongCodeError):
        wallet.unlock("9999")
    wallet.change_code(CODE, "55667788")
    needles = [CREDENTIAL.encode(), b"sess-abcdef", b"Karen Jensen"]
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert wallet.path in files
    for file in files:
        data = file.read_bytes()
        for needle in needles:
            assert needle not in data, (file, needle)


def test_a_crash_mid_write_leaves_the_previous_wallet_usable(
    wallet: Wallet, keystore: DeviceKeystore, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temp file left behind by an earlier crash is ignored and cleaned up on the next start.
    stray = wallet.path.with_name(f".{wallet.path.name}.k3j2h1.tmp")
    stray.write_bytes(b'{"format": "carekey-wallet", "header": {"vers')
    restarted = make_wallet(wallet.path, keystore, clock)
    assert not stray.exists()
    assert restarted.unlock(CODE) == bundle()

    # A crash during the rename of a new bundle keeps the old one whole.
    def power_cut(src: str, dst: str) -> None:
        raise OSError("power cut")

    monkeypatch.setattr("os.replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        restarted.store({"other": True}, code=CODE, keys_valid_until=START + dt.timedelta(hours=1))
    monkeypatch.undo()
    assert make_wallet(wallet.path, keystore, clock).unlock(CODE) == bundle()


def test_change_code(wallet: Wallet) -> None:
    with pytest.raises(WrongCodeError):
        wallet.change_code("1111", "2222")
    assert wallet.status().wrong_codes == 1
    wallet.change_code(CODE, "24681357")
    with pytest.raises(WrongCodeError):
        wallet.unlock(CODE)
    assert wallet.unlock("24681357") == bundle()
    assert wallet.status().keys_valid_until == START + dt.timedelta(hours=9)


@pytest.mark.parametrize("code", ["123", "1234567890123", "12a4", "12 34", "١٢٣٤", "", "１２３４"])
def test_malformed_codes_are_refused_without_counting(wallet: Wallet, code: str) -> None:
    with pytest.raises(BadCodeFormatError) as exc:
        wallet.unlock(code)
    assert exc.value.code == "wallet.bad_code_format"
    assert exc.value.message_da == "Den personlige kode skal være 4-12 cifre"
    assert wallet.status().wrong_codes == 0
    with pytest.raises(BadCodeFormatError):
        wallet.store(bundle(), code=code, keys_valid_until=START + dt.timedelta(hours=1))


def test_a_damaged_wallet_file_reads_as_empty(wallet: Wallet) -> None:
    wallet.path.write_bytes(b"not a wallet")
    assert not wallet.status().present
    assert not wallet.path.exists()

"""A key bundle's door JSON: the same bytes as before the cache, and a cache that does not grow
with ``last_seq`` (issue 14)."""

from __future__ import annotations

import orjson

from carekey.domain import enums as e
from carekey.keyservice import bundle


def _door(last_seq: int, label: str = "Hoveddør") -> bundle.BundleDoor:
    return bundle.BundleDoor(
        device_id=7,
        door_id=b"HL-000007",
        kind=e.DoorKind.HOME_LOCK,
        public_key=bytes(range(32)),
        citizen_id=3,
        citizen_name="Borger Nr. 3",
        address="Benchmarkvej 3",
        label=label,
        last_seq=last_seq,
    )


def test_door_fragment_is_the_door_rendered_whole() -> None:
    for seq in (0, 1, 2**40):
        door = _door(seq, label='Dør "A" æøå')
        assert orjson.dumps(bundle._door_fragment(door)) == orjson.dumps(bundle._door_dict(door))


def test_door_cache_holds_one_entry_per_door_whatever_its_last_seq() -> None:
    bundle._door_prefix.cache_clear()
    for seq in range(5000):
        bundle._door_fragment(_door(seq))
    assert bundle._door_prefix.cache_info().currsize == 1
    bundle._door_fragment(_door(1, label="Bagdør"))
    assert bundle._door_prefix.cache_info().currsize == 2


def test_door_cache_is_bounded() -> None:
    bundle._door_prefix.cache_clear()
    for i in range(bundle.DOOR_PREFIX_CACHE_SIZE + 100):
        bundle._door_fragment(_door(0, label=f"Dør {i}"))
    assert bundle._door_prefix.cache_info().currsize == bundle.DOOR_PREFIX_CACHE_SIZE

"""Kroner typed in the completion form become øre exactly, or a clear refusal."""

from __future__ import annotations

import pytest

from carekey.domain.errors import DomainError
from carekey.workorders.pages import _ore


@pytest.mark.parametrize(
    ("typed", "ore"),
    [("1.234,50", 123_450), ("12", 1_200), ("0,01", 1), ("", 0), (" 450 ", 45_000)],
)
def test_kroner_become_ore_exactly(typed: str, ore: int) -> None:
    assert _ore(typed) == ore


@pytest.mark.parametrize("typed", ["1,234", "abc", "inf", "nan", "1e-5", "12,5x"])
def test_what_is_not_kroner_and_oere_is_refused(typed: str) -> None:
    with pytest.raises(DomainError) as refused:
        _ore(typed)
    assert refused.value.code == "work_order.bad_amount"

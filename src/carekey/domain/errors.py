"""Errors a user or an operator can cause, with a stable code and a Danish and an English text."""

from __future__ import annotations


class DomainError(Exception):
    """A broken rule of the domain. ``code`` is stable and safe to show and to match on."""

    def __init__(self, code: str, message_da: str, message_en: str) -> None:
        super().__init__(f"{message_da} / {message_en}")
        self.code = code
        self.message_da = message_da
        self.message_en = message_en


class InvariantError(DomainError):
    """The data would break one of the model's invariants; nothing is written."""

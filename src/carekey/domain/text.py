"""Text a person typed: names, labels, codes and reasons, trimmed and bounded."""

from __future__ import annotations

from carekey.domain.errors import DomainError


def required_text(value: str, *, max_length: int, code: str, what_da: str, what_en: str) -> str:
    """``value`` without surrounding blanks; it must not be empty or longer than ``max_length``
    (the error names the field: ``what_da`` / ``what_en``)."""
    text = value.strip()
    if not text or len(text) > max_length:
        raise DomainError(
            code,
            f"{what_da} skal udfyldes og må højst have {max_length} tegn",
            f"{what_en} must be given and have at most {max_length} characters",
        )
    return text


def optional_text(
    value: str | None, *, max_length: int, code: str, what_da: str, what_en: str
) -> str | None:
    """Like ``required_text``, but nothing (or only blanks) is ``None``."""
    if value is None or not value.strip():
        return None
    return required_text(value, max_length=max_length, code=code, what_da=what_da, what_en=what_en)


def reason_text(reason: str | None) -> str | None:
    """The reason given for an administrative action, or ``None`` if none was."""
    return (reason or "").strip() or None

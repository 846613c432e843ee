"""The access policy for partner companies in stairwells, as data and rules (issue 15, first
part: the rules; the portals and the server's partner keys build on them).

The shape follows the field's published policies (BEKEY's access policy for housing
associations): a company is let into a building's stairwells only

- as an **approved organisation**: a registered company with a valid CVR number, or a public
  body (which may have none);
- on a stated **legal basis** (:class:`LegalBasis`): statutory mail delivery, goods or services
  to the residents or the owner, a public service, or a delivery to one named resident;
- **to the extent needed**: entrances and gates only (never a home: see
  :func:`carekey.domain.rules.check_partner_door`), within weekday windows, and with an
  approved errand where the basis asks for one (a delivery to a named resident is always one
  errand at a time).

:func:`check_agreement` checks a proposed or changed agreement as a whole and raises
:class:`~carekey.domain.errors.InvariantError` with the first rule it breaks, in Danish and
English, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from carekey.domain.enums import DoorKind, PartnerCategory, PartnerStatus
from carekey.domain.errors import InvariantError
from carekey.domain.values import TimeWindow, check_time_windows

CVR_WEIGHTS: Final = (2, 7, 6, 5, 4, 3, 2, 1)
"""The CVR register's modulus-11 weights: a valid number's weighted digit sum divides by 11."""

MAX_WINDOW_MINUTES_PER_WEEK: Final = 7 * 12 * 60
"""Access "to the extent needed": at most twelve hours a day on average across the week. A
round-the-clock agreement is not an errand but a key, and is refused."""


class LegalBasis(StrEnum):
    """Why a company may enter the stairwell at all."""

    STATUTORY_MAIL = "statutory_mail"  # the postal service's duty to deliver mail
    GOODS_OR_SERVICES = "goods_or_services"  # to the residents or the owner (newspapers, ...)
    PUBLIC_SERVICE = "public_service"  # a public body's own task
    NAMED_RESIDENT = "named_resident"  # one delivery to one named resident (parcel, meal box)


class OrganisationKind(StrEnum):
    """What kind of organisation asks for access."""

    COMPANY = "company"  # registered in the CVR register
    PUBLIC_BODY = "public_body"  # a public authority


BASES_FOR_CATEGORY: Final[dict[PartnerCategory, frozenset[LegalBasis]]] = {
    PartnerCategory.POST: frozenset({LegalBasis.STATUTORY_MAIL, LegalBasis.NAMED_RESIDENT}),
    PartnerCategory.NEWSPAPER: frozenset({LegalBasis.GOODS_OR_SERVICES}),
    PartnerCategory.ADVERTISING: frozenset({LegalBasis.GOODS_OR_SERVICES}),
    PartnerCategory.PARCEL: frozenset({LegalBasis.NAMED_RESIDENT}),
    PartnerCategory.MEAL_BOX: frozenset({LegalBasis.NAMED_RESIDENT, LegalBasis.PUBLIC_SERVICE}),
    PartnerCategory.PHARMACY: frozenset({LegalBasis.NAMED_RESIDENT}),
}
"""Which legal bases each kind of company may state. Statutory mail is the postal service's
alone; a parcel, a meal box or medicine is brought to one named resident (an errand); a meal
service run by the municipality itself is a public service."""

ERRAND_BASES: Final = frozenset({LegalBasis.NAMED_RESIDENT})
"""Bases on which every visit needs its own approved errand."""

_PARTNER_DOOR_KINDS: Final = frozenset({DoorKind.ENTRANCE_CONTROLLER, DoorKind.GATE_CONTROLLER})


def valid_cvr(cvr: str) -> bool:
    """Whether ``cvr`` is a well-formed CVR number: eight digits, not starting with 0, whose
    weighted digit sum (:data:`CVR_WEIGHTS`) is divisible by 11."""
    if len(cvr) != 8 or not cvr.isascii() or not cvr.isdigit() or cvr[0] == "0":
        return False
    return sum(int(d) * w for d, w in zip(cvr, CVR_WEIGHTS, strict=True)) % 11 == 0


def normalise_cvr(text: str) -> str:
    """A CVR number as people write it ("DK-24 25 67 90", "24256790 ") in its eight digits, or
    raise ``InvariantError`` (``partner.bad_cvr``)."""
    cleaned = text.strip().upper().removeprefix("DK").replace(" ", "").replace("-", "")
    if not valid_cvr(cleaned):
        raise InvariantError(
            "partner.bad_cvr",
            f"{text.strip()!r} er ikke et gyldigt CVR-nummer (8 cifre med kontrolciffer)",
            f"{text.strip()!r} is not a valid CVR number (8 digits with a check digit)",
        )
    return cleaned


@dataclass(frozen=True, slots=True)
class Organisation:
    """The company or public body an agreement is with."""

    kind: OrganisationKind
    category: PartnerCategory
    status: PartnerStatus = PartnerStatus.ACTIVE
    cvr: str | None = None


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """What an agreement grants: on which basis, at which doors, when, and whether each visit
    needs an errand."""

    basis: LegalBasis
    door_kinds: tuple[DoorKind, ...]
    windows: tuple[TimeWindow, ...]
    requires_errand: bool = False


def check_organisation(organisation: Organisation) -> None:
    """An approved organisation: active, and a company with a valid CVR number (a public body
    may have none)."""
    if organisation.status is not PartnerStatus.ACTIVE:
        raise InvariantError(
            "partner.blocked",
            "Firmaet er spærret og kan ikke få nye aftaler",
            "The company is blocked and cannot get new agreements",
        )
    if organisation.kind is OrganisationKind.COMPANY:
        if organisation.cvr is None or not valid_cvr(organisation.cvr):
            raise InvariantError(
                "partner.not_approved",
                "Et firma skal være registreret med et gyldigt CVR-nummer",
                "A company must be registered with a valid CVR number",
            )
    elif organisation.cvr is not None and not valid_cvr(organisation.cvr):
        raise InvariantError(
            "partner.bad_cvr",
            "CVR-nummeret er ikke gyldigt",
            "The CVR number is not valid",
        )


def check_agreement(organisation: Organisation, terms: AgreementTerms) -> tuple[TimeWindow, ...]:
    """Check an agreement against the policy as a whole; return its windows sorted.

    In order: the organisation is approved (:func:`check_organisation`); the basis is one its
    kind may state (:data:`BASES_FOR_CATEGORY`; a public service only for a public body); the
    doors are entrances and gates, at least one; there is at least one window, none overlapping,
    and no more than :data:`MAX_WINDOW_MINUTES_PER_WEEK` in all; an errand basis requires an
    errand per visit."""
    check_organisation(organisation)
    allowed = BASES_FOR_CATEGORY.get(organisation.category, frozenset())
    if terms.basis not in allowed:
        raise InvariantError(
            "agreement.basis_not_allowed",
            f"Grundlaget {terms.basis.value} gælder ikke for {organisation.category.value}",
            f"The basis {terms.basis.value} does not apply to {organisation.category.value}",
        )
    if terms.basis is LegalBasis.PUBLIC_SERVICE and organisation.kind is not (
        OrganisationKind.PUBLIC_BODY
    ):
        raise InvariantError(
            "agreement.public_service_needs_public_body",
            "Kun en offentlig myndighed kan have adgang som offentlig service",
            "Only a public body can have access as a public service",
        )
    _check_doors(terms.door_kinds)
    windows = _check_windows(terms.windows)
    if terms.basis in ERRAND_BASES and not terms.requires_errand:
        raise InvariantError(
            "agreement.errand_required",
            "Levering til en navngiven beboer kræver et godkendt ærinde for hvert besøg",
            "Delivery to a named resident needs an approved errand for every visit",
        )
    return windows


def _check_doors(kinds: Iterable[DoorKind]) -> None:
    kinds = tuple(kinds)
    if not kinds:
        raise InvariantError(
            "agreement.no_doors",
            "En aftale skal gælde mindst én opgang eller port",
            "An agreement must cover at least one entrance or gate",
        )
    if any(kind not in _PARTNER_DOOR_KINDS for kind in kinds):
        raise InvariantError(
            "agreement.home_door",
            "Samarbejdspartnere får kun adgang til opgange og porte, aldrig til et hjem",
            "Partners only get access to entrances and gates, never to a home",
        )


def _check_windows(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    ordered = check_time_windows(windows)
    if not ordered:
        raise InvariantError(
            "agreement.no_window",
            "En aftale skal have mindst ét tidsvindue",
            "An agreement must have at least one time window",
        )
    minutes = sum(w.end_minute - w.start_minute for w in ordered)
    if minutes > MAX_WINDOW_MINUTES_PER_WEEK:
        hours = MAX_WINDOW_MINUTES_PER_WEEK // 60
        raise InvariantError(
            "agreement.too_much_time",
            f"Aftalen giver adgang i {minutes // 60} timer om ugen; højst {hours} er nødvendige",
            f"The agreement grants {minutes // 60} hours a week; at most {hours} are needed",
        )
    return ordered


DEFAULT_BASIS: Final[dict[PartnerCategory, LegalBasis]] = {
    PartnerCategory.POST: LegalBasis.STATUTORY_MAIL,
    PartnerCategory.NEWSPAPER: LegalBasis.GOODS_OR_SERVICES,
    PartnerCategory.ADVERTISING: LegalBasis.GOODS_OR_SERVICES,
    PartnerCategory.PARCEL: LegalBasis.NAMED_RESIDENT,
    PartnerCategory.MEAL_BOX: LegalBasis.NAMED_RESIDENT,
    PartnerCategory.PHARMACY: LegalBasis.NAMED_RESIDENT,
}
"""The basis a kind of company usually states (the form's suggestion; demo data)."""


def valid_cvr_near(number: int) -> str:
    """The first valid CVR number at or after ``number`` (for generated demo data)."""
    for candidate in range(max(number, 10_000_000), 100_000_000):
        text = f"{candidate:08d}"
        if valid_cvr(text):
            return text
    raise ValueError("no valid CVR number at or after this one")

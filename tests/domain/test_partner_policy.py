"""The partner access policy (issue 15, its rules): approved organisations, legal bases per kind
of company, stairwells only, windows to the extent needed, errands where the basis asks."""

from __future__ import annotations

import pytest

from carekey.domain.enums import DoorKind, PartnerCategory, PartnerStatus
from carekey.domain.errors import InvariantError
from carekey.domain.partner_policy import (
    MAX_WINDOW_MINUTES_PER_WEEK,
    AgreementTerms,
    LegalBasis,
    Organisation,
    OrganisationKind,
    check_agreement,
    normalise_cvr,
    valid_cvr,
)
from carekey.domain.values import TimeWindow

POST_DK = Organisation(OrganisationKind.COMPANY, PartnerCategory.POST, cvr="24256790")
PAPER = Organisation(OrganisationKind.COMPANY, PartnerCategory.NEWSPAPER, cvr="61056416")
MORNINGS = tuple(TimeWindow.parse(day, "04:00", "07:00") for day in range(7))
STAIRWELL = (DoorKind.ENTRANCE_CONTROLLER, DoorKind.GATE_CONTROLLER)


def _code(call: object) -> str:
    with pytest.raises(InvariantError) as refused:
        call()  # type: ignore[operator]
    return refused.value.code


@pytest.mark.parametrize("cvr", ["24256790", "61056416"])
def test_real_cvr_numbers_pass_the_check_digit(cvr: str) -> None:
    assert valid_cvr(cvr)


@pytest.mark.parametrize("cvr", ["24256791", "2425679", "242567900", "04256790", "2425679x", ""])
def test_malformed_cvr_numbers_fail(cvr: str) -> None:
    assert not valid_cvr(cvr)


def test_cvr_as_people_write_it() -> None:
    assert normalise_cvr(" DK-24 25 67 90 ") == "24256790"
    assert _code(lambda: normalise_cvr("24 25 67 91")) == "partner.bad_cvr"


def test_a_newspaper_gets_its_mornings_at_stairwells() -> None:
    terms = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, tuple(reversed(MORNINGS)))
    assert check_agreement(PAPER, terms) == MORNINGS  # sorted


def test_statutory_mail_is_the_postal_services_alone() -> None:
    assert check_agreement(POST_DK, AgreementTerms(LegalBasis.STATUTORY_MAIL, STAIRWELL, MORNINGS))
    terms = AgreementTerms(LegalBasis.STATUTORY_MAIL, STAIRWELL, MORNINGS)
    assert _code(lambda: check_agreement(PAPER, terms)) == "agreement.basis_not_allowed"


def test_a_company_without_a_valid_cvr_is_not_approved() -> None:
    terms = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, MORNINGS)
    for cvr in (None, "24256791"):
        company = Organisation(OrganisationKind.COMPANY, PartnerCategory.NEWSPAPER, cvr=cvr)
        assert _code(lambda c=company: check_agreement(c, terms)) == "partner.not_approved"


def test_a_public_body_needs_no_cvr_and_alone_may_state_a_public_service() -> None:
    meals = Organisation(OrganisationKind.PUBLIC_BODY, PartnerCategory.MEAL_BOX)
    terms = AgreementTerms(LegalBasis.PUBLIC_SERVICE, STAIRWELL, MORNINGS)
    assert check_agreement(meals, terms)
    company = Organisation(OrganisationKind.COMPANY, PartnerCategory.MEAL_BOX, cvr="24256790")
    assert (
        _code(lambda: check_agreement(company, terms))
        == "agreement.public_service_needs_public_body"
    )


def test_a_blocked_company_gets_no_agreement() -> None:
    blocked = Organisation(
        OrganisationKind.COMPANY, PartnerCategory.NEWSPAPER, PartnerStatus.BLOCKED, "61056416"
    )
    terms = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, MORNINGS)
    assert _code(lambda: check_agreement(blocked, terms)) == "partner.blocked"


def test_never_a_home_and_never_no_door() -> None:
    home = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, (DoorKind.HOME_LOCK,), MORNINGS)
    assert _code(lambda: check_agreement(PAPER, home)) == "agreement.home_door"
    mixed = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, (*STAIRWELL, DoorKind.HOME_LOCK), MORNINGS)
    assert _code(lambda: check_agreement(PAPER, mixed)) == "agreement.home_door"
    none = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, (), MORNINGS)
    assert _code(lambda: check_agreement(PAPER, none)) == "agreement.no_doors"


def test_windows_to_the_extent_needed() -> None:
    empty = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, ())
    assert _code(lambda: check_agreement(PAPER, empty)) == "agreement.no_window"
    always = tuple(TimeWindow(day, 0, 1440) for day in range(7))
    too_much = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, always)
    assert _code(lambda: check_agreement(PAPER, too_much)) == "agreement.too_much_time"
    twelve = tuple(TimeWindow(day, 6 * 60, 18 * 60) for day in range(7))
    assert sum(w.end_minute - w.start_minute for w in twelve) == MAX_WINDOW_MINUTES_PER_WEEK
    assert check_agreement(PAPER, AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, twelve))
    overlap = (TimeWindow.parse(0, "04:00", "07:00"), TimeWindow.parse(0, "06:00", "08:00"))
    clash = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, overlap)
    assert _code(lambda: check_agreement(PAPER, clash)) == "time_window.overlap"


def test_a_delivery_to_a_named_resident_needs_an_errand() -> None:
    parcels = Organisation(OrganisationKind.COMPANY, PartnerCategory.PARCEL, cvr="24256790")
    loose = AgreementTerms(LegalBasis.NAMED_RESIDENT, STAIRWELL, MORNINGS)
    assert _code(lambda: check_agreement(parcels, loose)) == "agreement.errand_required"
    bound = AgreementTerms(LegalBasis.NAMED_RESIDENT, STAIRWELL, MORNINGS, requires_errand=True)
    assert check_agreement(parcels, bound)
    newspaper_parcel = AgreementTerms(LegalBasis.GOODS_OR_SERVICES, STAIRWELL, MORNINGS)
    assert _code(lambda: check_agreement(parcels, newspaper_parcel)) == (
        "agreement.basis_not_allowed"
    )

"""The partner issuer: a second issuer key per municipality, for partners' stairwell keys only.

Partner companies (post, newspapers, meal boxes) get keys to stairwell entrances and gates under
an agreement, never to a home. The server signs those credentials with a *partner issuer key*,
separate from the municipality's issuer key, and only entrance and gate controllers hold its
public half (their *partner keyring*); a home lock never does. So:

- a partner credential (any partner-key signature) is ``unknown_issuer_key`` at every home lock,
  whatever it claims, because the home lock does not know the key;
- at a controller, a credential whose kid is in the partner keyring (and not in the issuer
  keyring) is verified with that key and must then be a partner's (subject type partner), hold
  no rights (admin, installer) and name entrance or gate kinds only (for a bundle: the union of
  its leaves and the presented leaf); anything else is ``partner_issuer_misuse``, so a leaked or
  misused partner key can never make an employee's, an installer's or a home key;
- time tokens, denylists and proofs of freshness are verified with the issuer keyring only: a
  partner key never sets a door's clock, lifts a block or vouches for a phone;
- a key id is in at most one of the two keyrings: a kid in both is ``partner_issuer_misuse``
  here, and the firmware, CONFIGURE and the door's state file never let it happen.
"""

from __future__ import annotations

from typing import Final

from carekey.protocol.errors import SignatureError
from carekey.protocol.keys import IssuerKeyring, IssuerPublicKey

PARTNER_KIND_BITS: Final = 2 | 4
"""The kinds a partner-key credential may name: entrance (2) and gate (4), never home (1)."""


def issuer_key_for(
    kid: bytes, keyring: IssuerKeyring, partner_keyring: IssuerKeyring | None
) -> tuple[IssuerPublicKey, bool]:
    """The trusted key that verifies a credential naming ``kid``, and whether it is a partner
    issuer key. A kid the partner keyring lacks goes to the issuer keyring (``unknown_issuer_key``
    / ``retired_issuer_key`` as before); a kid in both is ``partner_issuer_misuse``."""
    if partner_keyring is None or kid not in partner_keyring.keys:
        return keyring.trusted(kid), False
    if kid in keyring.keys:
        raise SignatureError("partner_issuer_misuse", "kid in both the issuer and partner keyring")
    return partner_keyring.trusted(kid), True


def check_partner_claims(partner: bool, rights: bool, kind_bits: int) -> None:
    """What a partner issuer key may sign: a partner's credential (``partner``), without rights,
    for entrances and gates only (``kind_bits`` within :data:`PARTNER_KIND_BITS`); else raise
    ``partner_issuer_misuse``."""
    if not partner:
        raise SignatureError("partner_issuer_misuse", "subject type is not partner")
    if rights:
        raise SignatureError("partner_issuer_misuse", "rights in a partner-key credential")
    if kind_bits & ~PARTNER_KIND_BITS:
        raise SignatureError("partner_issuer_misuse", "a kind other than entrance or gate")


def shared_kids(keyring: IssuerKeyring, partner_keyring: IssuerKeyring) -> frozenset[bytes]:
    """Key ids in both keyrings (active or retired): must be empty on every door."""
    return frozenset(keyring.keys) & frozenset(partner_keyring.keys)

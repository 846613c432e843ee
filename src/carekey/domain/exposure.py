"""How long a revoked key may still work at a door that has not learnt of the revocation.

A door takes a credential until its expiry, and a phone's proof of freshness until the proof's
expiry, each widened by the door's clock tolerance (``protocol.timetoken.drift_tolerance``):
``BASE_TOLERANCE`` plus 20 ppm of the time since the door's last time token, at most
``MAX_TOLERANCE``. The server does not see time tokens arrive at doors; what it knows is the
door's last recorded contact (``door_device.last_seen_at``: the last upload of its events, and
a phone hands the door a time token at every visit). So the tolerance is the drift from that
contact until the moment in question; a door never heard from gets ``MAX_TOLERANCE``. The
contact is recorded when the events are uploaded, a little after the visit: 20 ppm of that delay
is a fraction of a second a day.
"""

from __future__ import annotations

import datetime as dt

from carekey.protocol.timetoken import MAX_TOLERANCE, drift_tolerance


def door_tolerance(last_contact: dt.datetime | None, at: dt.datetime) -> dt.timedelta:
    """The clock tolerance a door may apply at ``at``, given its last contact the server knows."""
    if last_contact is None:
        return MAX_TOLERANCE
    return drift_tolerance(at - last_contact)


def works_until(
    credential_expires: dt.datetime,
    proof_expires: dt.datetime | None,
    last_contact: dt.datetime | None,
) -> dt.datetime:
    """The latest time a door may still open for a key that expires at ``credential_expires``
    on a phone whose last proof of freshness expires at ``proof_expires`` (None: unknown, the
    credential alone bounds it), tolerance included."""
    end = credential_expires if proof_expires is None else min(credential_expires, proof_expires)
    return end + door_tolerance(last_contact, end)

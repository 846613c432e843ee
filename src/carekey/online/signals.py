"""The one thing other parts tell the online controllers: "the denylist has a new version".

:func:`denylist_changed` is called where a version is made (``revocation.denylist``), inside the
request's transaction. Nothing is sent then: the version may still roll back. After the commit,
the session hands the versions to the notifier the server put in the session's ``info``
(``NOTIFY_KEY``: the MQTT bridge of :mod:`carekey.online.bridge`), which signs the delta and
publishes it. A process that dies between the commit and the publish loses nothing: every
server instance also compares, every few seconds, the version each online controller has
signed for with the newest one and sends the rest (``service.reconcile``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlalchemy import event
from sqlalchemy.orm import Session

NOTIFY_KEY: Final = "carekey.online.notify"
"""``Session.info`` key of ``Callable[[set[tuple[int, int]]], None]``: (municipality, version)."""
_PENDING: Final = "carekey.online.pending"
_LISTENING: Final = "carekey.online.listening"

Notify = Callable[[set[tuple[int, int]]], None]


def denylist_changed(db: Session, *, municipality_id: int, version: int) -> None:
    """Remember that ``version`` was made; it is published once the transaction commits."""
    if db.info.get(NOTIFY_KEY) is None:
        return  # no broker configured: doors learn from phones only
    db.info.setdefault(_PENDING, set()).add((municipality_id, version))
    if not db.info.get(_LISTENING):
        db.info[_LISTENING] = True
        event.listen(db, "after_commit", _after_commit)
        event.listen(db, "after_rollback", _after_rollback)


def _after_commit(db: Session) -> None:
    pending: set[tuple[int, int]] = db.info.pop(_PENDING, set())
    notify: Notify | None = db.info.get(NOTIFY_KEY)
    if pending and notify is not None:
        notify(pending)


def _after_rollback(db: Session) -> None:
    db.info.pop(_PENDING, None)

"""Upload of door events, receipts and app events from the key app."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from carekey.http.deps import BearerDep, NowDep, SecretDep, SessionDep
from carekey.ingest import service as ingest
from carekey.keyservice import service as keys

router = APIRouter(prefix="/api/v1/app", tags=["nøgle-app / key app"])

# Coarse guards against absurd bodies; the exact limits (with their own error codes) are the
# service's: ingest.MAX_EVENTS_PER_UPLOAD, ingest.MAX_UPLOAD_EVENT_BYTES, ...
_B64_MAX = 4 * ingest.MAX_UPLOAD_EVENT_BYTES
_LIST_MAX = 10 * ingest.MAX_EVENTS_PER_UPLOAD


class DoorBatchIn(BaseModel):
    door_id: str = Field(min_length=1, max_length=32, description="The door's serial")
    events: list[str] = Field(
        max_length=_LIST_MAX, description="Signed events as the door gave them, base64 each"
    )


class ReceiptIn(BaseModel):
    door_id: str = Field(min_length=1, max_length=32)
    event: str = Field(max_length=_B64_MAX, description="The signed receipt, base64")


class AppEventIn(BaseModel):
    idempotency_key: str = Field(min_length=1, max_length=ingest.MAX_IDEMPOTENCY_KEY)
    kind: ingest.AppEventKind
    occurred_at: AwareDatetime
    door_id: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, max_length=ingest.MAX_REASON)


class UploadIn(BaseModel):
    doors: list[DoorBatchIn] = Field(default_factory=list, max_length=_LIST_MAX)
    receipts: list[ReceiptIn] = Field(default_factory=list, max_length=_LIST_MAX)
    app_events: list[AppEventIn] = Field(default_factory=list, max_length=_LIST_MAX)


def _bytes(text: str, where: str) -> bytes:
    if len(text) > _B64_MAX:
        raise ingest.UploadError(
            "ingest.event_too_large",
            f"En hændelse er større end {ingest.MAX_UPLOAD_EVENT_BYTES} byte ({where})",
            f"An event is larger than {ingest.MAX_UPLOAD_EVENT_BYTES} bytes ({where})",
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ingest.UploadError(
            "ingest.bad_base64",
            f"En hændelse er ikke gyldig base64 ({where})",
            f"An event is not valid base64 ({where})",
        ) from None


def _to_upload(body: UploadIn) -> ingest.Upload:
    return ingest.Upload(
        doors=[
            ingest.DoorBatch(
                b.door_id,
                [_bytes(raw, f"doors[{i}].events[{j}]") for j, raw in enumerate(b.events)],
            )
            for i, b in enumerate(body.doors)
        ],
        receipts=[
            ingest.Receipt(r.door_id, _bytes(r.event, f"receipts[{i}]"))
            for i, r in enumerate(body.receipts)
        ],
        app_events=[
            ingest.AppEvent(a.idempotency_key, a.kind, a.occurred_at, a.door_id, a.reason)
            for a in body.app_events
        ],
    )


@router.post("/events")
def upload_events(
    body: UploadIn, db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep
) -> dict[str, Any]:
    """Aflever dørhændelser, kvitteringer og app-hændelser / upload door events, receipts and
    app events. Idempotent: the same upload twice stores nothing new."""
    session = keys.require_session(db, token=token, secret=secret, now=now)
    upload = _to_upload(body)
    return ingest.ingest_upload(db, session=session, upload=upload, now=now).to_json()

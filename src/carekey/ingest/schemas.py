"""The request body of an event upload (``ingest.api``), and its translation into the use case's
``Upload``. The answer is ``IngestReport.to_json``."""

from __future__ import annotations

import base64
import binascii

from pydantic import AwareDatetime, BaseModel, Field

from carekey.ingest import service as ingest

# Coarse guards against absurd bodies; the exact limits (with their own error codes) are the
# service's: ingest.MAX_EVENTS_PER_UPLOAD, ingest.MAX_UPLOAD_EVENT_BYTES, ...
_B64_MAX = 4 * ingest.MAX_UPLOAD_EVENT_BYTES
_LIST_MAX = 10 * ingest.MAX_EVENTS_PER_UPLOAD
_COUNTER_MAX = ingest.MAX_DOOR_COUNTER


class DoorBatchIn(BaseModel):
    door_id: str = Field(min_length=1, max_length=32, description="The door's serial")
    events: list[str] = Field(
        max_length=_LIST_MAX, description="Signed events as the door gave them, base64 each"
    )
    # What the door's READ_EVENTS page said of its ring; optional (older apps send none),
    # unsigned, so information only (see ingest.service).
    first_seq: int | None = Field(
        default=None, strict=True, ge=0, le=_COUNTER_MAX, description="The ring's lowest seq"
    )
    next_seq: int | None = Field(
        default=None, strict=True, ge=0, le=_COUNTER_MAX, description="The door's next seq"
    )
    events_dropped: int | None = Field(
        default=None,
        strict=True,
        ge=0,
        le=_COUNTER_MAX,
        description="Events the door's ring has evicted, by the door's own count",
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

    def upload(self) -> ingest.Upload:
        """The use case's ``Upload``, events decoded from base64 (``UploadError`` if one is
        not base64 or too large, naming where it is)."""
        return ingest.Upload(
            doors=[
                ingest.DoorBatch(
                    b.door_id,
                    [_bytes(raw, f"doors[{i}].events[{j}]") for j, raw in enumerate(b.events)],
                    first_seq=b.first_seq,
                    next_seq=b.next_seq,
                    events_dropped=b.events_dropped,
                )
                for i, b in enumerate(self.doors)
            ],
            receipts=[
                ingest.Receipt(r.door_id, _bytes(r.event, f"receipts[{i}]"))
                for i, r in enumerate(self.receipts)
            ],
            app_events=[
                ingest.AppEvent(a.idempotency_key, a.kind, a.occurred_at, a.door_id, a.reason)
                for a in self.app_events
            ],
        )


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

"""Upload of door events, receipts and app events from the key app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from carekey.http.deps import BearerDep, NowDep, SecretDep, SessionDep
from carekey.ingest import service as ingest
from carekey.ingest.schemas import UploadIn
from carekey.keyservice.app_session import require_session

router = APIRouter(prefix="/api/v1/app", tags=["nøgle-app / key app"])


@router.post("/events")
def upload_events(
    body: UploadIn, db: SessionDep, token: BearerDep, secret: SecretDep, now: NowDep
) -> dict[str, Any]:
    """Aflever dørhændelser, kvitteringer og app-hændelser / upload door events, receipts and
    app events. Idempotent: the same upload twice stores nothing new."""
    session = require_session(db, token=token, secret=secret, now=now)
    upload = body.upload()
    return ingest.ingest_upload(db, session=session, upload=upload, now=now).to_json()

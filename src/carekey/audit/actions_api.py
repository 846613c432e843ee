"""The log of administrative actions over the API, for administrators and auditors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, computed_field

from carekey.adminui import codes
from carekey.audit import actions_log
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, SessionDep
from carekey.http.schemas import Limit, Offset, Page, page_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


class AdminActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    actor_employee_id: int | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    reason: str | None
    details: dict[str, Any] | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def what(self) -> str:
        """The action in Danish words (``adminui.codes``)."""
        return codes.admin_action_label(self.action, language="da")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def what_en(self) -> str:
        """The action in English words."""
        return codes.admin_action_label(self.action, language="en")


@router.get("/actions", response_model=Page[AdminActionOut])
def list_admin_actions(
    db: SessionDep,
    actor: ActorDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[AdminActionOut]:
    """Administrative handlinger / administrative actions, newest first."""
    page = actions_log.list_admin_actions(
        db,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return page_out(page, AdminActionOut.model_validate)

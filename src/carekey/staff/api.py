"""Employee endpoints: search, read, create and change employees. Thin: each endpoint calls one
use case of ``staff.service`` and shapes the answer. Blocking is in ``revocation.api``."""

from __future__ import annotations

from fastapi import APIRouter

from carekey.domain import enums as e
from carekey.domain.paging import DEFAULT_PAGE_SIZE
from carekey.http.deps import ActorDep, NowDep, SessionDep
from carekey.http.schemas import FilterId, Limit, Offset, Page, PathId, Search, page_out
from carekey.staff import service
from carekey.staff.schemas import EmployeeCreate, EmployeeOut, EmployeeUpdate, employee_out

router = APIRouter(prefix="/api/v1/admin", tags=["administration"])


@router.get("/employees", response_model=Page[EmployeeOut])
def list_employees(
    db: SessionDep,
    actor: ActorDep,
    q: Search = None,
    district_id: FilterId = None,
    status: e.EmployeeStatus | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    offset: Offset = 0,
) -> Page[EmployeeOut]:
    """Medarbejdere / employees, searched by name or number."""
    page = service.list_employees(
        db,
        actor=actor,
        q=q,
        district_id=district_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return page_out(page, employee_out)


@router.post("/employees", response_model=EmployeeOut, status_code=201)
def create_employee(
    body: EmployeeCreate, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmployeeOut:
    """Opret en medarbejder / create an employee."""
    return employee_out(
        service.create_employee(db, actor=actor, new=body.command(), reason=body.reason, now=now)
    )


@router.get("/employees/{employee_id}", response_model=EmployeeOut)
def get_employee(employee_id: PathId, db: SessionDep, actor: ActorDep) -> EmployeeOut:
    """En medarbejder med roller, distrikter og telefoner / an employee."""
    return employee_out(service.get_employee(db, actor=actor, employee_id=employee_id))


@router.patch("/employees/{employee_id}", response_model=EmployeeOut)
def update_employee(
    employee_id: PathId, body: EmployeeUpdate, db: SessionDep, actor: ActorDep, now: NowDep
) -> EmployeeOut:
    """Ret en medarbejder / change an employee."""
    return employee_out(
        service.update_employee(
            db,
            actor=actor,
            employee_id=employee_id,
            changes=body.command(),
            reason=body.reason,
            now=now,
        )
    )

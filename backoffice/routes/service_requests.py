"""报停 / 恢复供暖 applications for the service hall: the queue, approve, reject."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from backoffice.deps import ServicesDep, SessionDep, require_roles
from backoffice.security import StaffClaims
from tools.billing import suspension
from tools.billing.models import ServiceRequest
from tools.company.models import HeatingSeason
from tools.crm.models import Account
from tools.masking import mask_name

router = APIRouter(prefix="/api/v1/backoffice/service-requests", tags=["service requests"])
HallStaff = Annotated[StaffClaims, Depends(require_roles("agent", "supervisor"))]


class ServiceRequestView(BaseModel):
    id: str
    request_no: str
    kind: Literal["suspend", "resume"]
    kind_text: str
    status: str
    status_text: str
    account_no: str
    name: str
    address: str
    season_code: str
    quoted_amount: Decimal
    note: str
    created_at: str


class DecisionIn(BaseModel):
    reason: str = Field(default="", max_length=200)


async def _view(session: SessionDep, request: ServiceRequest) -> ServiceRequestView:
    account = await session.get(Account, request.account_id)
    season = await session.get(HeatingSeason, request.season_id)
    return ServiceRequestView(
        id=request.id,
        request_no=request.request_no,
        kind=request.kind,  # type: ignore[arg-type]
        kind_text=suspension.KIND_NAMES[request.kind],
        status=request.status,
        status_text=suspension.STATUS_NAMES[request.status],
        account_no=account.account_no,
        name=mask_name(account.resident.name),
        address=account.building.label,  # the building is enough to schedule a sealing visit
        season_code=season.code,
        quoted_amount=request.quoted_amount,
        note=request.note,
        created_at=request.created_at.isoformat(),
    )


@router.get("")
async def list_service_requests(
    session: SessionDep,
    _staff: HallStaff,
    status: Annotated[Literal["requested", "approved", "rejected", "cancelled"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> list[ServiceRequestView]:
    """Newest first; personal data masked."""
    return [
        await _view(session, r) for r in await suspension.list_requests(session, status=status, limit=limit)
    ]


@router.post("/{request_id}/approve")
async def approve(
    request_id: str, body: DecisionIn, session: SessionDep, services: ServicesDep, staff: HallStaff
) -> ServiceRequestView:
    """Approve: the season's bill is re-priced to the quote and the resident is notified."""
    request = await suspension.decide(
        session,
        request_id=request_id,
        approve=True,
        actor=f"staff:{staff.staff_id}",
        clock=services.clock,
        reason=body.reason,
    )
    return await _view(session, request)


@router.post("/{request_id}/reject")
async def reject(
    request_id: str, body: DecisionIn, session: SessionDep, services: ServicesDep, staff: HallStaff
) -> ServiceRequestView:
    request = await suspension.decide(
        session,
        request_id=request_id,
        approve=False,
        actor=f"staff:{staff.staff_id}",
        clock=services.clock,
        reason=body.reason or "详情请咨询营业厅",
    )
    return await _view(session, request)

"""Audited unmasking: a supervisor sees a resident's full phone and address, with a reason on record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.audit import AuditLog
from tools.crm.models import Account
from tools.crm.profile import RevealedContact, reveal_contact
from tools.errors import NotFound

router = APIRouter(prefix="/api/v1/backoffice", tags=["residents"])


class RevealIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="查看原因，写入审计日志")


class AuditView(BaseModel):
    at: str
    actor: str
    action: str
    target_type: str
    target_id: str | None
    reason: str | None


@router.post("/residents/{account_no}/contact", dependencies=[Depends(require_roles("supervisor"))])
async def reveal(
    account_no: str, body: RevealIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> RevealedContact:
    account_id = await session.scalar(select(Account.id).where(Account.account_no == account_no))
    if account_id is None:
        raise NotFound("未找到户号")
    return await reveal_contact(
        session,
        account_id=account_id,
        staff_id=staff.staff_id,
        role=staff.role,
        reason=body.reason,
        clock=services.clock,
    )


@router.get("/audit", dependencies=[Depends(require_roles("supervisor"))])
async def audit_log(
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditView]:
    stmt = select(AuditLog).order_by(AuditLog.at.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return [
        AuditView(
            at=e.at.isoformat(),
            actor=e.actor,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
            reason=e.reason,
        )
        for e in await session.scalars(stmt)
    ]

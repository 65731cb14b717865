from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from backoffice.deps import SessionDep, require_roles
from tools.crm.schemas import AccountMasked, AccountPage
from tools.crm.service import list_accounts

router = APIRouter(
    prefix="/api/v1/backoffice/residents",
    tags=["residents"],
    dependencies=[Depends(require_roles("agent", "supervisor"))],
)


@router.get("")
async def residents(
    session: SessionDep,
    community: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=40, description="户号或姓名")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # beyond: a DB integer overflow, not a page
) -> AccountPage:
    """Accounts with personal data masked; unmasking is a separate, audited supervisor action."""
    total, accounts = await list_accounts(session, community=community, query=q, limit=limit, offset=offset)
    return AccountPage(total=total, items=[AccountMasked.of(account) for account in accounts])

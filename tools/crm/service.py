"""CRM queries and identity lookups."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.crm.models import Account, Building, Community, Resident
from tools.errors import NotFound


def _accounts_query(*, community: str | None, query: str | None) -> Select[tuple[Account]]:
    stmt = select(Account).join(Account.building).join(Building.community).join(Account.resident)
    if community:
        stmt = stmt.where(Community.name == community)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(Account.account_no.like(like), Resident.name.like(like)))
    return stmt


async def list_accounts(
    session: AsyncSession,
    *,
    community: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Account]]:
    base = _accounts_query(community=community, query=query)
    total = await session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
    rows = await session.scalars(base.order_by(Account.account_no).limit(limit).offset(offset))
    return int(total or 0), list(rows.unique())


async def get_account_by_no(session: AsyncSession, account_no: str) -> Account:
    account = await session.scalar(select(Account).where(Account.account_no == account_no))
    if account is None:
        raise NotFound(f"户号 {account_no} 不存在")
    return account

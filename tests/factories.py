"""Plain factories shared by tests. Business data goes in through the services users use."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tools.company.models import Company
from tools.demo.company import ensure_company


async def make_company_with_season(session: AsyncSession) -> Company:
    """The demo company's seasons 2025-2026 and 2026-2027 with tariffs 26.00 / 38.00 元/㎡."""
    return await ensure_company(session)

"""The demo company's facts: the knowledge-base documents in ``kb_docs/`` state the same ones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.company.models import Company, HeatingSeason, Tariff

COMPANY_CODE = "hengnuan"

PROFILE: dict[str, Any] = {
    "service_halls": [
        {"name": "城东营业厅", "address": "东风路88号", "hours": "采暖季每天 8:30-17:00，非采暖季工作日"},
        {"name": "城西营业厅", "address": "建设大街156号", "hours": "采暖季每天 8:30-17:00，非采暖季工作日"},
        {
            "name": "滨河新区营业厅",
            "address": "滨河大道9号",
            "hours": "采暖季每天 8:30-17:00，非采暖季工作日",
        },
    ],
    "payment_channels": [
        "恒暖热力公众号（微信支付）",
        "支付宝“生活缴费”",
        "三个营业厅",
        "工商银行、建设银行代收",
    ],
    "repair_promises": {
        "emergency": "爆管、大量跑水等紧急抢修：市区 1 小时内到场，滨河新区偏远区域 2 小时内到场",
        "normal": "一般报修：2 小时内电话联系，24 小时内上门（开栓首周 48 小时内），预约 2 小时上门时段",
    },
    "districts": ["城东区", "城西区", "滨河新区"],
}

SEASONS = (
    {
        "code": "2025-2026",
        "starts_on": date(2025, 11, 15),
        "ends_on": date(2026, 3, 15),
        "discount_deadline": date(2025, 10, 31),
        "pay_deadline": date(2025, 12, 31),
        "suspend_apply_deadline": date(2025, 10, 31),
    },
    {
        "code": "2026-2027",
        "starts_on": date(2026, 11, 15),
        "ends_on": date(2027, 3, 15),
        "discount_deadline": date(2026, 10, 31),
        "pay_deadline": date(2026, 12, 31),
        "suspend_apply_deadline": date(2026, 10, 31),
    },
)
TERMS = {
    "discount_rate": Decimal("0.03"),
    "late_fee_daily_rate": Decimal("0.0005"),
    "late_fee_cap_ratio": Decimal("1"),
    "suspend_fee_ratio": Decimal("0.30"),
}
TARIFFS = {"residential": Decimal("26.00"), "non_residential": Decimal("38.00")}


async def ensure_company(session: AsyncSession) -> Company:
    """Create or update the company, both seasons and their tariffs; safe to run again."""
    company = await session.scalar(select(Company).where(Company.code == COMPANY_CODE))
    if company is None:
        company = Company(code=COMPANY_CODE)
        session.add(company)
    company.name = "滨河市恒暖热力有限公司"
    company.short_name = "恒暖热力"
    company.city = "滨河市"
    company.hotline = "96899"
    company.profile = PROFILE
    await session.flush()
    existing = {
        s.code: s
        for s in await session.scalars(select(HeatingSeason).where(HeatingSeason.company_id == company.id))
    }
    for spec in SEASONS:
        season = existing.get(spec["code"])
        if season is None:
            season = HeatingSeason(company_id=company.id, **spec, **TERMS)
            session.add(season)
            await session.flush()
        else:
            for key, value in {**spec, **TERMS}.items():
                setattr(season, key, value)
        tariffs = {
            t.account_kind: t
            for t in await session.scalars(select(Tariff).where(Tariff.season_id == season.id))
        }
        for kind, price in TARIFFS.items():
            if kind in tariffs:
                tariffs[kind].unit_price = price
            else:
                session.add(Tariff(season_id=season.id, account_kind=kind, unit_price=price))
    await session.flush()
    return company

"""“猜你想问”: a few questions this resident is likely to need now, ranked from their state.

Signals, strongest first: an open repair ticket, an unpaid bill, the topic of the last message,
a live notice for their building, and the phase of the heating season. Anonymous visitors get
the season's most common questions. Every suggestion is a question the bot can answer.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kb.models import KbDocument
from tools.billing.models import Bill
from tools.clock import Clock, local_date
from tools.context import ResidentContext
from tools.crm.models import Account
from tools.tickets.models import Ticket

OPEN_TICKET_STATES = ("已受理", "已派工", "师傅已出发", "已到场")
LIMIT = 4
BY_CATEGORY = {
    "no_heat": ["暖气片怎么放气？", "室温多少度算达标？", "暖气不热能退费吗？"],
    "leak": ["漏水了先关哪个阀门？", "维修要收费吗？"],
    "valve": ["阀门拧不动怎么办？", "换阀门多少钱？"],
    "equipment_noise": ["暖气有水流声正常吗？"],
    "billing": ["怎么开电子发票？", "滞纳金怎么算？", "查一下缴费记录"],
    "suspend": ["报停要交多少钱？", "怎么恢复供暖？"],
    "progress": ["师傅什么时候到？", "怎么取消报修？"],
    "account": ["怎么修改手机号？", "房子卖了怎么过户？"],
    "inquiry": ["今年什么时候供暖？", "营业厅在哪？"],
}


def season_questions(clock: Clock) -> list[str]:
    today = local_date(clock)
    month, day = today.month, today.day
    if (month, day) >= (3, 16) and month < 10:
        return ["怎么开电子发票？", "房子空置怎么报停？", "今年什么时候供暖？"]
    if month == 10 or (month == 11 and day < 15):
        return ["今年什么时候供暖？", "提前交费有优惠吗？", "怎么报停？", "试压期间要注意什么？"]
    if (month == 11 and day >= 15) or (month == 12 and day <= 7):
        return ["暖气不热怎么办？", "暖气片怎么放气？", "在哪交暖气费？", "室温多少度算达标？"]
    return ["暖气不热怎么办？", "滞纳金怎么算？", "怎么开电子发票？"]


async def suggest(
    session: AsyncSession, resident: ResidentContext, category: str | None, *, clock: Clock
) -> list[str]:
    picks: list[str] = []
    if resident.account_id:
        account = await session.get(Account, resident.account_id)
        open_ticket = await session.scalar(
            select(Ticket.ticket_no)
            .where(Ticket.account_id == resident.account_id, Ticket.status.in_(OPEN_TICKET_STATES))
            .limit(1)
        )
        if open_ticket:
            picks.append("查看我的维修进度")
        unpaid = await session.scalar(
            select(Bill.id)
            .where(Bill.account_id == resident.account_id, Bill.status.in_(("unpaid", "partial")))
            .limit(1)
        )
        if unpaid:
            picks += ["我还欠多少采暖费？", "在线缴费"]
        if account is not None:
            picks += await _notices(session, account, clock)
    picks += BY_CATEGORY.get(category or "", [])
    picks += season_questions(clock)
    return list(dict.fromkeys(picks))[:LIMIT]


async def _notices(session: AsyncSession, account: Account, clock: Clock) -> list[str]:
    today = local_date(clock)
    community, building = account.building.community.name, account.building.number
    titles = await session.scalars(
        select(KbDocument.title).where(
            KbDocument.kind == "notice",
            KbDocument.status == "active",
            KbDocument.scope_community == community,
            or_(KbDocument.scope_building.is_(None), KbDocument.scope_building == building),
            or_(KbDocument.valid_from.is_(None), KbDocument.valid_from <= today),
            or_(KbDocument.valid_to.is_(None), KbDocument.valid_to >= today),
        )
    )
    return [f"{title}是怎么回事？" for title in titles][:1]

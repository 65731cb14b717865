"""Proactive care campaigns: pick residents by tag and place, preview, send through the outbox.

Examples: 独居老人 in 锦绣花园 before a cold snap; every account of 阳光小区2号楼 during an outage.
Sending is idempotent per campaign and account (a unique recipient row plus the outbox's
``dedupe_key``), so pressing "send" twice, or sending again after more residents were tagged,
never messages anyone twice. Results count what the outbox and the conversations know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.campaigns.models import Campaign, CampaignRecipient
from tools.clock import Clock
from tools.conversations.models import Conversation, Message
from tools.crm.models import RESIDENT_TAGS, Account, Building, Community, Resident
from tools.errors import InvalidInput, NotFound
from tools.outbox import OutboxMessage, enqueue

REPLY_WINDOW = timedelta(days=3)
DELIVERED = ("sent", "delivered")


class Target(BaseModel):
    """Who gets the message. Empty fields do not filter; ``tags`` matches residents with any of them."""

    tags: list[str] = Field(default_factory=list, max_length=6)
    district: str | None = Field(default=None, max_length=40)
    community: str | None = Field(default=None, max_length=60)
    building: str | None = Field(default=None, max_length=20)  # "3号楼"
    include_suspended: bool = False

    def check(self) -> None:
        unknown = set(self.tags) - set(RESIDENT_TAGS)
        if unknown:
            raise InvalidInput(f"未知标签：{'、'.join(sorted(unknown))}")
        if self.building and not self.community:
            raise InvalidInput("按楼栋发送时请同时指定小区")
        if not (self.tags or self.district or self.community):
            raise InvalidInput("请至少指定标签、区域或小区，避免误发给全部住户")


async def target_accounts(session: AsyncSession, target: Target) -> list[Account]:
    target.check()
    stmt = (
        select(Account)
        .join(Building, Account.building_id == Building.id)
        .join(Community, Building.community_id == Community.id)
        .join(Resident, Account.resident_id == Resident.id)
        .where(Account.status.in_(("active", "suspended") if target.include_suspended else ("active",)))
        .order_by(Account.account_no)
    )
    if target.district:
        stmt = stmt.where(Community.district == target.district)
    if target.community:
        stmt = stmt.where(Community.name == target.community)
    if target.building:
        stmt = stmt.where(Building.number == target.building)
    accounts = list((await session.scalars(stmt)).unique())
    if target.tags:
        # Tags are a JSON list; matching them in Python keeps the query identical on both backends.
        wanted = set(target.tags)
        accounts = [a for a in accounts if wanted.intersection(a.resident.tags or [])]
    return accounts


async def create_campaign(
    session: AsyncSession, *, name: str, text: str, kind: str, target: Target, actor: str, clock: Clock
) -> Campaign:
    target.check()
    if kind not in ("care", "notice"):
        raise InvalidInput("活动类型应为 care 或 notice")
    campaign = Campaign(
        name=name.strip(),
        text=text.strip(),
        kind=kind,
        target=target.model_dump(),
        created_by=actor,
        created_at=clock.now(),
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("活动不存在")
    return campaign


async def send_campaign(session: AsyncSession, *, campaign: Campaign, clock: Clock) -> int:
    """Queue the message for every target account not yet messaged; returns how many were new."""
    accounts = await target_accounts(session, Target(**campaign.target))
    done = set(
        await session.scalars(
            select(CampaignRecipient.account_id).where(CampaignRecipient.campaign_id == campaign.id)
        )
    )
    added = 0
    for account in accounts:
        if account.id in done:
            continue
        outbox = await enqueue(
            session,
            clock=clock,
            kind=campaign.kind,
            text=campaign.text,
            account_id=account.id,
            payload={"campaign_id": campaign.id},
            dedupe_key=f"campaign:{campaign.id}:{account.id}",
        )
        session.add(
            CampaignRecipient(
                campaign_id=campaign.id, account_id=account.id, outbox_id=outbox.id, queued_at=clock.now()
            )
        )
        added += 1
    campaign.status = "sent"
    campaign.sent_at = campaign.sent_at or clock.now()
    await session.flush()
    return added


@dataclass(frozen=True)
class CampaignResults:
    recipients: int
    delivered: int
    failed: int
    pending: int
    replied: int

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def campaign_results(session: AsyncSession, *, campaign: Campaign) -> CampaignResults:
    statuses = dict(
        (
            await session.execute(
                select(OutboxMessage.status, func.count())
                .join(CampaignRecipient, CampaignRecipient.outbox_id == OutboxMessage.id)
                .where(CampaignRecipient.campaign_id == campaign.id)
                .group_by(OutboxMessage.status)
            )
        ).all()
    )
    recipients = sum(statuses.values())
    replied = 0
    if campaign.sent_at is not None:
        replied = int(
            await session.scalar(
                select(func.count(distinct(Conversation.account_id)))
                .join(Message, Message.conversation_id == Conversation.id)
                .join(CampaignRecipient, CampaignRecipient.account_id == Conversation.account_id)
                .where(
                    CampaignRecipient.campaign_id == campaign.id,
                    Message.sender == "resident",
                    Message.created_at > campaign.sent_at,
                    Message.created_at <= campaign.sent_at + REPLY_WINDOW,
                )
            )
            or 0
        )
    delivered = sum(n for status, n in statuses.items() if status in DELIVERED)
    failed = sum(n for status, n in statuses.items() if status in ("failed", "undeliverable"))
    return CampaignResults(recipients, delivered, failed, recipients - delivered - failed, replied)

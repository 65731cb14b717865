"""Proactive care campaigns (主动关怀): supervisors and admins preview, create, send and follow up."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.campaigns.models import Campaign
from tools.campaigns.service import (
    Target,
    campaign_results,
    create_campaign,
    get_campaign,
    send_campaign,
    target_accounts,
)
from tools.crm.schemas import AccountMasked

router = APIRouter(
    prefix="/api/v1/backoffice/campaigns",
    tags=["campaigns"],
    dependencies=[Depends(require_roles("supervisor"))],
)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    text: str = Field(min_length=2, max_length=500)
    kind: Literal["care", "notice"] = "care"
    target: Target


class CampaignView(BaseModel):
    id: str
    name: str
    kind: str
    text: str
    target: dict[str, Any]
    status: str
    created_by: str
    created_at: datetime
    sent_at: datetime | None
    results: dict[str, int] | None = None


class Preview(BaseModel):
    count: int
    sample: list[AccountMasked]


async def _view(session: Any, campaign: Campaign, *, results: bool = True) -> CampaignView:
    figures = (await campaign_results(session, campaign=campaign)).as_dict() if results else None
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        text=campaign.text,
        target=campaign.target,
        status=campaign.status,
        created_by=campaign.created_by,
        created_at=campaign.created_at,
        sent_at=campaign.sent_at,
        results=figures,
    )


@router.post("/preview")
async def preview(target: Target, session: SessionDep) -> Preview:
    """How many accounts a target reaches, with a masked sample, before anything is sent."""
    accounts = await target_accounts(session, target)
    return Preview(count=len(accounts), sample=[AccountMasked.of(a) for a in accounts[:10]])


@router.post("", status_code=201)
async def create(
    body: CampaignIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> CampaignView:
    campaign = await create_campaign(
        session,
        name=body.name,
        text=body.text,
        kind=body.kind,
        target=body.target,
        actor=f"staff:{staff.staff_id}",
        clock=services.clock,
    )
    return await _view(session, campaign)


@router.get("")
async def campaigns(session: SessionDep) -> list[CampaignView]:
    rows = await session.scalars(select(Campaign).order_by(Campaign.created_at.desc()).limit(100))
    return [await _view(session, c, results=False) for c in rows]


@router.get("/{campaign_id}")
async def detail(campaign_id: str, session: SessionDep) -> CampaignView:
    return await _view(session, await get_campaign(session, campaign_id))


@router.post("/{campaign_id}/send")
async def send(campaign_id: str, session: SessionDep, services: ServicesDep) -> dict[str, Any]:
    """Queue the message for every target account not yet messaged (safe to press twice)."""
    campaign = await get_campaign(session, campaign_id)
    queued = await send_campaign(session, campaign=campaign, clock=services.clock)
    return {"queued": queued, "results": (await campaign_results(session, campaign=campaign)).as_dict()}

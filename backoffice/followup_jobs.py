"""Standing jobs of the back-office features: follow-up surveys and quality inspection."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from backoffice.jobs import SETTLE_AFTER_START, Job
from tools.db import transaction
from tools.followups.service import expire_surveys, send_due_surveys
from tools.quality.service import review_ended_conversations

if TYPE_CHECKING:
    from backoffice.deps import AppServices


async def survey_job(services: AppServices) -> dict[str, int] | None:
    """Survey newly completed tickets; expire surveys nobody answered in the window."""
    async with transaction(services.sessions) as session:
        sent = await send_due_surveys(session, clock=services.clock)
        expired = await expire_surveys(session, clock=services.clock)
    return {"sent": sent, "expired": expired} if sent or expired else None


async def quality_job(services: AppServices) -> dict[str, int] | None:
    """Score conversations that ended (closed, or idle a day) since their last scoring."""
    async with transaction(services.sessions) as session:
        reviewed = await review_ended_conversations(session, clock=services.clock)
    return {"reviewed": reviewed} if reviewed else None


def followup_jobs() -> list[Job]:
    return [
        Job("followup_surveys", timedelta(minutes=1), survey_job),
        Job("quality_inspection", timedelta(minutes=10), quality_job, SETTLE_AFTER_START),
    ]

"""Quality inspection (质检) for supervisors: per-handler figures, the flagged list, one review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from backoffice.deps import ServicesDep, SessionDep, require_roles
from tools.analytics.metrics import DateRange
from tools.errors import NotFound
from tools.quality.models import QualityReview
from tools.quality.service import HandlerStats, flagged_reviews, handler_stats, review_ended_conversations
from tools.validators import IsoDate

router = APIRouter(
    prefix="/api/v1/backoffice/quality",
    tags=["quality"],
    dependencies=[Depends(require_roles("supervisor"))],
)


class ReviewView(BaseModel):
    conversation_id: str
    handler: str
    staff_id: str | None
    channel: str
    score: int
    flagged: bool
    flags: list[str]
    first_response_s: float | None
    emotion_start: str | None
    emotion_end: str | None
    scored_through: datetime | None
    rules: list[dict[str, Any]]

    @classmethod
    def of(cls, review: QualityReview) -> ReviewView:
        return cls(
            conversation_id=review.conversation_id,
            handler=review.handler,
            staff_id=review.staff_id,
            channel=review.channel,
            score=review.score,
            flagged=review.flagged,
            flags=list(review.flags or []),
            first_response_s=review.first_response_s,
            emotion_start=review.emotion_start,
            emotion_end=review.emotion_end,
            scored_through=review.scored_through,
            rules=list(review.rules or []),
        )


def _range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    if start is None and end is None:
        return None, None
    rng = DateRange(start or end, end or start)  # type: ignore[arg-type]
    return rng.since, rng.until


@router.get("/stats")
async def stats(
    session: SessionDep, start: IsoDate | None = None, end: IsoDate | None = None
) -> list[HandlerStats]:
    """Average score, flagged count and first response per agent and for the bot."""
    since, until = _range(start, end)
    return await handler_stats(session, start=since, end=until)


@router.get("/flagged")
async def flagged(
    session: SessionDep,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReviewView]:
    since, until = _range(start, end)
    return [ReviewView.of(r) for r in await flagged_reviews(session, start=since, end=until, limit=limit)]


@router.get("/conversations/{conversation_id}")
async def review(conversation_id: str, session: SessionDep) -> ReviewView:
    found = await session.scalar(
        select(QualityReview).where(QualityReview.conversation_id == conversation_id)
    )
    if found is None:
        raise NotFound("该会话尚未质检")
    return ReviewView.of(found)


@router.post("/run")
async def run_now(session: SessionDep, services: ServicesDep) -> dict[str, int]:
    """Score ended conversations now instead of waiting for the job."""
    return {"reviewed": await review_ended_conversations(session, clock=services.clock)}

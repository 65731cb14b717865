"""Follow-up surveys (回访) for supervisors: answers, flagged ones first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import select

from backoffice.deps import SessionDep, require_roles
from tools.dispatch.models import Worker
from tools.followups.models import Survey
from tools.masking import mask_text
from tools.tickets.models import Ticket

router = APIRouter(
    prefix="/api/v1/backoffice/surveys",
    tags=["surveys"],
    dependencies=[Depends(require_roles("supervisor"))],
)


class SurveyView(BaseModel):
    id: str
    ticket_no: str
    status: str
    sent_at: datetime
    answered_at: datetime | None
    score: int | None
    sentiment: str | None
    hidden_dissatisfaction: bool
    flagged: bool
    outcome: str | None
    answer: str | None
    praised_worker: str | None


@router.get("")
async def surveys(
    session: SessionDep,
    flagged: Annotated[bool | None, Query(description="只看需要跟进的")] = None,
    status: Annotated[str | None, Query(pattern="^(pending|answered|expired)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SurveyView]:
    stmt = (
        select(Survey, Ticket.ticket_no, Worker.name)
        .join(Ticket, Ticket.id == Survey.ticket_id)
        .outerjoin(Worker, Worker.id == Survey.praised_worker_id)
        .order_by(Survey.flagged.desc(), Survey.sent_at.desc())
        .limit(limit)
    )
    if flagged is not None:
        stmt = stmt.where(Survey.flagged.is_(flagged))
    if status:
        stmt = stmt.where(Survey.status == status)
    return [
        SurveyView(
            id=survey.id,
            ticket_no=ticket_no,
            status=survey.status,
            sent_at=survey.sent_at,
            answered_at=survey.answered_at,
            score=survey.score,
            sentiment=survey.sentiment,
            hidden_dissatisfaction=survey.hidden_dissatisfaction,
            flagged=survey.flagged,
            outcome=survey.outcome,
            answer=mask_text(survey.answer_text) if survey.answer_text else None,
            praised_worker=worker_name,
        )
        for survey, ticket_no, worker_name in await session.execute(stmt)
    ]

"""Label corrections: agents and supervisors fix a resident message's category, emotion or urgency.

The corrected labels replace the message's labels at once (queues, dashboards and quality checks
read them from the message) and are kept in ``label_corrections`` for ``warmline train classifier``.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from tools.labeling.service import CorrectedLabels, correct_labels
from tools.labels import Category, Emotion, Urgency

router = APIRouter(
    prefix="/api/v1/backoffice/messages",
    tags=["labels"],
    dependencies=[Depends(require_roles("agent", "supervisor"))],
)


class LabelFix(BaseModel):
    category: Category | None = None
    emotion: Emotion | None = None
    urgency: Urgency | None = None


class LabelCorrectionView(BaseModel):
    id: str
    message_id: str
    category: str
    emotion: str
    urgency: str
    staff_id: str
    at: datetime


@router.put("/{message_id}/labels", response_model=LabelCorrectionView)
async def put_labels(
    message_id: str,
    body: LabelFix,
    session: SessionDep,
    services: ServicesDep,
    staff: CurrentStaff,
) -> LabelCorrectionView:
    """Correct a resident message's labels (unset fields keep their value). Changes data."""
    correction = await correct_labels(
        session,
        message_id=message_id,
        labels=CorrectedLabels(body.category, body.emotion, body.urgency),
        staff_id=staff.staff_id,
        clock=services.clock,
    )
    return LabelCorrectionView.model_validate(correction, from_attributes=True)

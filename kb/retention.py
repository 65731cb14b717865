"""Retention for what the knowledge base learned from residents: their unanswered questions.

Questions are stored normalised and stripped of numbers, but they are still what a resident wrote
(a name, a street); mining only looks at the last two weeks, so nothing older than the retention
period is needed. Old mining runs go too: their topic examples quote those questions. Proposals
stay: once an admin has worded them they are curated content, not a resident's words.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from kb.models import HotTopic, UnansweredQuestion


async def purge_learning(session: AsyncSession, *, cutoff: datetime) -> dict[str, int]:
    questions = await session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.asked_at < cutoff))
    topics = await session.execute(delete(HotTopic).where(HotTopic.mined_at < cutoff))
    return {"unanswered_questions": questions.rowcount or 0, "hot_topics": topics.rowcount or 0}

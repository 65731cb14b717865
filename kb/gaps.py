"""What the bot could not answer: the raw material of self-update.

The agent records a gap when the knowledge base abstained, answered with low confidence, or the
turn ended with a handoff (and, once a channel collects it, when a resident rated an answer
down). Questions are stored normalised and scrubbed of personal data, because they are shown to
admins and may end up, reworded, as FAQ variants.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kb.models import GAP_REASONS, UnansweredQuestion
from tools.clock import Clock
from tools.masking import mask_text
from tools.text import normalize

MAX_QUESTION_CHARS = 300

# mask_text keeps a phone's last four digits and an ID's ends for agents; a knowledge entry must
# carry none of it, so the masked forms and account numbers become placeholders.
_PLACEHOLDERS = (
    (re.compile(r"\d{3}\*{11}[\dXx]{4}"), "【身份证号】"),
    (re.compile(r"1\d{2}\*{4}\d{4}"), "【手机号】"),
    (re.compile(r"0\d{2,3}-\*{4}\d{4}"), "【电话】"),
    (re.compile(r"(?<!\d)20\d{8}(?!\d)"), "【户号】"),
    (re.compile(r"\*单元\*{3}(室|号|户)?"), "X单元X室"),
    (re.compile(r"(号楼|栋|幢)\*{3}(室|号|户)"), r"\1X室"),
    (re.compile(r"(\d{1,3})-\*-\*{3}"), r"\1-X-X"),
    (re.compile(r"(?<!\d)\d{11,}(?!\d)"), "【号码】"),
)


def scrub(text: str) -> str:
    """Remove phone, ID, account and room numbers, leaving readable placeholders."""
    text = mask_text(text or "")
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return text.strip()


def normalise_question(text: str) -> str:
    return scrub(normalize(text))[:MAX_QUESTION_CHARS]


async def record_unanswered(
    session: AsyncSession,
    *,
    question: str,
    message_id: str,
    reason: str,
    clock: Clock,
    conversation_id: str | None = None,
    confidence: float | None = None,
    category: str | None = None,
    scope_community: str | None = None,
    scope_building: str | None = None,
    asked_at: datetime | None = None,
) -> UnansweredQuestion | None:
    """Store one gap; idempotent per (message, reason), so a resumed turn never counts twice."""
    if reason not in GAP_REASONS:
        raise ValueError(f"unknown gap reason {reason!r}")
    text = normalise_question(question)
    if not text:
        return None
    existing = await session.scalar(
        select(UnansweredQuestion).where(
            UnansweredQuestion.message_id == message_id, UnansweredQuestion.reason == reason
        )
    )
    if existing is not None:
        return existing
    row = UnansweredQuestion(
        question=text,
        conversation_id=conversation_id,
        message_id=message_id,
        confidence=confidence,
        reason=reason,
        category=category,
        scope_community=scope_community,
        scope_building=scope_building,
        asked_at=asked_at or clock.now(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent writer recorded the same gap first
        return await session.scalar(
            select(UnansweredQuestion).where(
                UnansweredQuestion.message_id == message_id, UnansweredQuestion.reason == reason
            )
        )
    return row


async def unanswered_between(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[UnansweredQuestion]:
    rows = await session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.asked_at >= start, UnansweredQuestion.asked_at <= end)
        .order_by(UnansweredQuestion.asked_at)
    )
    return list(rows)


async def recent_unanswered(
    session: AsyncSession, *, reason: str | None = None, limit: int = 50
) -> list[UnansweredQuestion]:
    stmt = select(UnansweredQuestion)
    if reason:
        stmt = stmt.where(UnansweredQuestion.reason == reason)
    rows = await session.scalars(stmt.order_by(UnansweredQuestion.asked_at.desc()).limit(limit))
    return list(rows)


__all__ = ["normalise_question", "recent_unanswered", "record_unanswered", "scrub", "unanswered_between"]

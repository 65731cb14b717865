"""Correcting a message's labels and reading the corrections back as training examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import Clock
from tools.conversations.models import Conversation, Message
from tools.errors import InvalidInput, NotFound
from tools.labeling.models import LabelCorrection
from tools.labels import CATEGORIES, EMOTIONS, URGENCIES


@dataclass(frozen=True)
class CorrectedLabels:
    category: str | None = None
    emotion: str | None = None
    urgency: str | None = None


async def correct_labels(
    session: AsyncSession, *, message_id: str, labels: CorrectedLabels, staff_id: str, clock: Clock
) -> LabelCorrection:
    """Set a resident message's labels to what a human says they are; unset fields keep their value."""
    if labels.category is None and labels.emotion is None and labels.urgency is None:
        raise InvalidInput("请至少修改一个标签")
    for value, allowed, name in (
        (labels.category, CATEGORIES, "类别"),
        (labels.emotion, EMOTIONS, "情绪"),
        (labels.urgency, URGENCIES, "紧急程度"),
    ):
        if value is not None and value not in allowed:
            raise InvalidInput(f"{name}“{value}”不在标签集中")
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFound("消息不存在")
    if message.sender != "resident":
        raise InvalidInput("只能修正住户消息的标签")
    message.category = labels.category or message.category or "other"
    message.emotion = labels.emotion or message.emotion or "neutral"
    message.urgency = labels.urgency or message.urgency or "low"
    conversation = await session.get(Conversation, message.conversation_id)
    latest = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == message.conversation_id, Message.sender == "resident")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    if conversation is not None and latest == message.id:
        conversation.last_category = message.category
        conversation.last_emotion = message.emotion
        conversation.last_urgency = message.urgency
    correction = LabelCorrection(
        message_id=message.id,
        category=message.category,
        emotion=message.emotion,
        urgency=message.urgency,
        staff_id=staff_id,
        at=clock.now(),
    )
    session.add(correction)
    await session.flush()
    return correction


async def correction_examples(session: AsyncSession) -> list[dict[str, Any]]:
    """Every corrected message as a training example; the latest correction of a message wins."""
    rows = await session.execute(
        select(
            Message.text,
            LabelCorrection.category,
            LabelCorrection.emotion,
            LabelCorrection.urgency,
            LabelCorrection.message_id,
        )
        .join(Message, Message.id == LabelCorrection.message_id)
        .order_by(LabelCorrection.at, LabelCorrection.id)
    )
    latest: dict[str, dict[str, Any]] = {}
    for text, category, emotion, urgency, message_id in rows:
        latest[message_id] = {
            "text": text,
            "category": category,
            "emotion": emotion,
            "urgency": urgency,
            "source": "correction",
        }
    return list(latest.values())

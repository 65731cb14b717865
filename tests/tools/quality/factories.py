"""Planted conversations for quality inspection and dashboards, written through the services."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import FixedClock
from tools.conversations.models import Conversation
from tools.conversations.service import Labels, append_message, close_conversation, open_conversation

Step = tuple[float, str, str, str | None]  # seconds after the previous step, sender, text, emotion


async def plant_conversation(
    session: AsyncSession,
    clock: FixedClock,
    steps: list[Step],
    *,
    channel: str = "web",
    account_id: str | None = None,
    staff_id: str | None = None,
    category: str = "no_heat",
    close: bool = True,
) -> Conversation:
    conversation = await open_conversation(session, channel=channel, account_id=account_id, clock=clock)
    for delay, sender, text, emotion in steps:
        clock.advance(timedelta(seconds=delay))
        labels = Labels(category, emotion or "neutral", "normal", 0.9) if sender == "resident" else None
        await append_message(
            session,
            conversation=conversation,
            sender=sender,
            text=text,
            clock=clock,
            labels=labels,
            staff_id=staff_id if sender == "agent" else None,
        )
    if close:
        await close_conversation(session, conversation=conversation, clock=clock)
    return conversation

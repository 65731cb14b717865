"""Outbox delivery to conversation channels (web widget, app): appended once, pushed live, echoes skipped."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from channels.delivery import OutboxDelivery
from channels.inbox import ConversationSender
from tools.conversations.models import Message
from tools.conversations.service import append_message, open_conversation
from tools.db import transaction
from tools.events import InProcessBus
from tools.outbox import OutboxMessage, enqueue


async def test_a_web_resident_gets_a_notice_in_the_conversation_once_and_live(sessions, clock) -> None:
    bus = InProcessBus()
    async with transaction(sessions) as session:
        conversation = await open_conversation(session, channel="web", clock=clock)
        agent_line, _ = await append_message(
            session, conversation=conversation, sender="agent", text="您好，我是客服小李", clock=clock
        )
        await enqueue(
            session,
            clock=clock,
            kind="ticket_progress",
            text="【报修进度】工单T9：师傅已出发",
            conversation_id=conversation.id,
        )
        await enqueue(
            session, clock=clock, kind="agent_reply", text=agent_line.text, conversation_id=conversation.id
        )
        conversation_id = conversation.id
    delivery = OutboxDelivery(
        sessions=sessions, clock=clock, senders={"web": ConversationSender("web", sessions, clock, bus)}
    )
    async with bus.subscribe(f"conversation:{conversation_id}") as events:
        assert await delivery.run_due() == {"sent": 2}
        event = await asyncio.wait_for(anext(events), 1)
    assert event["sender"] == "system" and "师傅已出发" in event["text"]
    assert await delivery.run_due() == {}
    async with sessions() as session:
        texts = list(
            await session.scalars(
                select(Message.text).where(Message.conversation_id == conversation_id).order_by(Message.seq)
            )
        )
        rows = list(await session.scalars(select(OutboxMessage)))
    assert texts == [
        "您好，我是客服小李",
        "【报修进度】工单T9：师傅已出发",
    ]  # the agent's reply is not echoed
    assert all(row.status == "sent" and row.channel == "web" for row in rows)

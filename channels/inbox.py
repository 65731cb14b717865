"""The outbound sender for channels whose residents read the conversation itself (web widget, app).

Delivering to them means: the message is in the resident's conversation, and a live event says so
(the widget or app listening on ``conversation:{id}`` shows it; one that was closed loads it from
the conversation's history later). Replies written into the conversation already (the bot's late
answer, a human agent's reply) are echoes and are not stored again. Appends carry the outbox id as
their external id, so a redelivered row never becomes a second message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.base import DeliveryResult, OutboundMessage
from tools.clock import Clock
from tools.conversations.models import Conversation
from tools.conversations.service import append_message
from tools.crm.models import ChannelIdentity
from tools.db import transaction
from tools.events import EventBus

ECHO_KINDS = frozenset({"agent_reply"})  # written into the conversation by whoever produced them


@dataclass
class ConversationSender:
    channel: str
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    events: EventBus

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        async with transaction(self.sessions) as session:
            conversation = await self._conversation(session, message)
            if conversation is None:
                return DeliveryResult.rejected("住户在该渠道没有会话")
            if message.kind in ECHO_KINDS and message.conversation_id == conversation.id:
                return DeliveryResult.sent(via="conversation", echo=True)
            stored, created = await append_message(
                session,
                conversation=conversation,
                sender="system",
                text=message.text,
                external_id=f"outbox:{message.outbox_id}",
                meta={"outbox_id": message.outbox_id, "kind": message.kind},
                clock=self.clock,
            )
            event = {
                "type": "message",
                "message_id": stored.id,
                "conversation_id": conversation.id,
                "sender": "system",
                "kind": message.kind,
                "text": stored.text,
                "at": stored.created_at.isoformat(),
            }
        if created:
            await self.events.publish(f"conversation:{conversation.id}", event)
        return DeliveryResult.sent(via="conversation", message_id=stored.id)

    async def _conversation(self, session: AsyncSession, message: OutboundMessage) -> Conversation | None:
        if message.conversation_id is not None:
            return await session.get(Conversation, message.conversation_id)
        if message.external_user_id is None:
            return None
        return await session.scalar(
            select(Conversation)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(
                ChannelIdentity.channel == self.channel,
                ChannelIdentity.external_id == message.external_user_id,
            )
            .order_by(Conversation.created_at.desc())
            .limit(1)
        )

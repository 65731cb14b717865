"""The agent console's conversations: the waiting queue, take over, reply, notes, hand back, close.

Replies are stored in the conversation (the web widget and app read them from there) and put in
the outbox as ``agent_reply`` for channels that must push (WeChat's customer-service API). Every
change is published on the event bus, so consoles and widgets update live.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sse_starlette.sse import EventSourceResponse

from backoffice.deps import CurrentStaff, ServicesDep, SessionDep, require_roles
from backoffice.kb_learning import learn_from_agent_answers
from tools.conversations.closing import close_conversation
from tools.conversations.models import Conversation, Message
from tools.conversations.service import (
    agent_queue,
    append_message,
    get_conversation,
    hand_back,
    take_over,
    transcript,
)
from tools.crm.models import Account
from tools.crm.schemas import AccountMasked
from tools.errors import Conflict, PermissionDenied
from tools.masking import mask_text
from tools.outbox import enqueue

router = APIRouter(
    prefix="/api/v1/backoffice/conversations",
    tags=["conversations"],
    dependencies=[Depends(require_roles("agent", "supervisor"))],
)


class ConversationCard(BaseModel):
    id: str
    channel: str
    status: str
    owner: str
    category: str | None
    emotion: str | None
    urgency: str | None
    waiting_since: datetime | None
    last_message_at: datetime | None
    handoff_summary: str | None
    resident: AccountMasked | None


class MessageView(BaseModel):
    id: str
    seq: int
    sender: str
    text: str
    internal: bool
    category: str | None
    emotion: str | None
    urgency: str | None
    at: datetime


class ConversationDetail(ConversationCard):
    closed_at: datetime | None
    closed_by: str | None
    reopen_count: int
    messages: list[MessageView]


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


async def _card(session: Any, conversation: Conversation) -> ConversationCard:
    account = await session.get(Account, conversation.account_id) if conversation.account_id else None
    return ConversationCard(
        id=conversation.id,
        channel=conversation.channel,
        status=conversation.status,
        owner=conversation.owner,
        category=conversation.last_category,
        emotion=conversation.last_emotion,
        urgency=conversation.last_urgency,
        waiting_since=conversation.handoff_requested_at,
        last_message_at=conversation.last_message_at,
        handoff_summary=conversation.handoff_summary,
        resident=AccountMasked.of(account) if account else None,
    )


def _message(message: Message) -> MessageView:
    # Residents type phone and ID numbers into chats, and the bot and agents repeat them ("已记下您的
    # 电话…"): staff see every message masked by default; the full number is an audited unmasking.
    return MessageView(
        id=message.id,
        seq=message.seq,
        sender=message.sender,
        text=mask_text(message.text),
        internal=message.internal,
        category=message.category,
        emotion=message.emotion,
        urgency=message.urgency,
        at=message.created_at,
    )


@router.get("")
async def queue(
    session: SessionDep, limit: Annotated[int, Field(ge=1, le=200)] = 50
) -> list[ConversationCard]:
    """Conversations waiting for a human: emergencies and angry residents first, then by waiting time."""
    return [await _card(session, conversation) for conversation in await agent_queue(session, limit=limit)]


@router.get("/{conversation_id}")
async def detail(conversation_id: str, session: SessionDep) -> ConversationDetail:
    conversation = await get_conversation(session, conversation_id)
    messages = await transcript(session, conversation_id=conversation_id, include_internal=True)
    card = await _card(session, conversation)
    return ConversationDetail(
        **card.model_dump(),
        closed_at=conversation.closed_at,
        closed_by=conversation.closed_by,
        reopen_count=conversation.reopen_count,
        messages=[_message(m) for m in messages],
    )


@router.post("/{conversation_id}/take-over")
async def take(
    conversation_id: str, session: SessionDep, services: ServicesDep, staff: CurrentStaff, request: Request
) -> dict[str, str]:
    if not await take_over(
        session, conversation_id=conversation_id, staff_id=staff.staff_id, clock=services.clock
    ):
        raise Conflict("该会话已被其他客服接管", code="already_taken")
    await request.app.state.events.publish(
        f"conversation:{conversation_id}", {"type": "agent_joined", "agent": staff.name}
    )
    await request.app.state.events.publish("queue", {"type": "taken", "conversation_id": conversation_id})
    return {"owner": staff.staff_id}


@router.post("/{conversation_id}/reply")
async def reply(
    conversation_id: str,
    body: TextIn,
    session: SessionDep,
    services: ServicesDep,
    staff: CurrentStaff,
    request: Request,
) -> MessageView:
    conversation = await get_conversation(session, conversation_id)
    if conversation.owner_staff_id != staff.staff_id:
        raise PermissionDenied("请先接管该会话再回复")
    message, _ = await append_message(
        session,
        conversation=conversation,
        sender="agent",
        staff_id=staff.staff_id,
        text=body.text,
        clock=services.clock,
    )
    await enqueue(
        session,
        clock=services.clock,
        kind="agent_reply",
        text=body.text,
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        payload={"identity_id": conversation.identity_id, "channel": conversation.channel},
        dedupe_key=f"agent_reply:{message.id}",
    )
    await request.app.state.events.publish(
        f"conversation:{conversation_id}",
        {"type": "message", "sender": "agent", "text": body.text, "message_id": message.id},
    )
    return _message(message)


@router.post("/{conversation_id}/notes")
async def note(
    conversation_id: str, body: TextIn, session: SessionDep, services: ServicesDep, staff: CurrentStaff
) -> MessageView:
    conversation = await get_conversation(session, conversation_id)
    message, _ = await append_message(
        session,
        conversation=conversation,
        sender="agent",
        staff_id=staff.staff_id,
        text=body.text,
        internal=True,
        clock=services.clock,
    )
    return _message(message)


@router.post("/{conversation_id}/hand-back")
async def give_back(
    conversation_id: str, session: SessionDep, services: ServicesDep, staff: CurrentStaff, request: Request
) -> dict[str, str]:
    await hand_back(
        session,
        conversation_id=conversation_id,
        staff_id=staff.staff_id,
        role=staff.role,
        clock=services.clock,
    )
    # What the agent answered may be worth an FAQ entry; an admin decides (kb/proposals.py).
    await learn_from_agent_answers(
        session, conversation_id=conversation_id, kb=request.app.state.kb, clock=services.clock
    )
    await request.app.state.events.publish(f"conversation:{conversation_id}", {"type": "agent_left"})
    return {"owner": "bot"}


@router.post("/{conversation_id}/close")
async def close(
    conversation_id: str, session: SessionDep, services: ServicesDep, staff: CurrentStaff, request: Request
) -> ConversationDetail:
    """End the contact: it goes to quality inspection; the resident writing again reopens it.

    An agent closes a conversation the bot is handling or one they own; another agent's is for a
    supervisor to close. A close from the owner learns from their answers, as a hand-back does.
    """
    conversation = await get_conversation(session, conversation_id)
    owner = conversation.owner_staff_id
    if owner not in (None, staff.staff_id) and staff.role not in ("supervisor", "admin"):
        raise PermissionDenied("该会话由其他客服接待，只能由本人或班长结束")
    await close_conversation(
        session, conversation=conversation, clock=services.clock, closed_by=f"staff:{staff.staff_id}"
    )
    if owner is not None:
        await learn_from_agent_answers(
            session, conversation_id=conversation_id, kb=request.app.state.kb, clock=services.clock
        )
        # The resident's widget shows who is serving them; the agent has left.
        await request.app.state.events.publish(f"conversation:{conversation_id}", {"type": "agent_left"})
    await request.app.state.events.publish(f"conversation:{conversation_id}", {"type": "closed"})
    await request.app.state.events.publish("queue", {"type": "closed", "conversation_id": conversation_id})
    return await detail(conversation_id, session)


@router.get(
    "/events/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def events(request: Request) -> EventSourceResponse:
    """Server-sent events of the queue (new messages, handoffs, take-overs) for live consoles."""

    async def stream() -> Any:
        async with request.app.state.events.subscribe("queue") as queue_events:
            async for event in queue_events:
                if await request.is_disconnected():
                    break
                yield {"event": event.get("type", "message"), "data": json.dumps(event, ensure_ascii=False)}

    return EventSourceResponse(stream())

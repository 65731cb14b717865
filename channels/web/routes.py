"""Chat API for the web widget and the app (JSON over HTTP; the widget script uses it too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent.inbound import InboundMessage
from channels.deps import AgentDep, ChannelServicesDep, ChannelSessionDep
from channels.web.sessions import authorize, open_chat_session
from tools.conversations.service import transcript
from tools.crm.schemas import AccountMasked
from tools.errors import InvalidInput

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])

MAX_TEXT = 1000


class SessionIn(BaseModel):
    channel: Literal["web", "app"] = "web"
    account_no: str | None = Field(default=None, max_length=20, description="10 位户号")
    phone_last4: str | None = Field(default=None, max_length=4, description="登记手机号后四位")


class SessionOut(BaseModel):
    session_id: str
    token: str
    resident: AccountMasked | None = None
    suggestions: list[str]


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    client_message_id: str | None = Field(
        default=None, max_length=64, description="客户端重发时保持不变，防止重复"
    )


class Classification(BaseModel):
    category: str
    emotion: str
    urgency: str
    confidence: float


class ReplyOut(BaseModel):
    message_id: str
    reply: str | None
    classification: Classification
    suggestions: list[str]
    handoff: bool
    ticket: dict[str, Any] | None = None
    payment_order: dict[str, Any] | None = None
    sources: list[dict[str, Any]] = []
    duplicate: bool = False


class HistoryItem(BaseModel):
    id: str
    sender: str
    text: str
    at: datetime


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@router.post("/sessions", response_model=SessionOut, status_code=201)
async def create_session(
    body: SessionIn, session: ChannelSessionDep, services: ChannelServicesDep, agent: AgentDep
) -> Any:
    """Open a chat. With 户号 + 手机号后四位 the resident is identified; without, it is anonymous."""
    opened = await open_chat_session(
        session,
        channel=body.channel,
        clock=services.clock,
        account_no=body.account_no,
        phone_last4=body.phone_last4,
    )
    if opened.binding_error:
        # Commit the failed attempt (it counts toward the limit), then answer with the error.
        await session.commit()
        status = 429 if opened.locked else 403
        code = "binding_locked" if opened.locked else "binding_failed"
        return JSONResponse({"error": {"code": code, "message": opened.binding_error}}, status_code=status)
    resident = agent.resident_context(opened.conversation)
    return SessionOut(
        session_id=opened.conversation.id,
        token=opened.token,
        resident=AccountMasked.of(opened.account) if opened.account else None,
        suggestions=await agent.suggest(session, resident, None),
    )


@router.post("/sessions/{session_id}/messages", response_model=ReplyOut)
async def post_message(
    session_id: str,
    body: MessageIn,
    services: ChannelServicesDep,
    agent: AgentDep,
    authorization: Annotated[str | None, Header()] = None,
) -> ReplyOut:
    async with services.sessions() as session:
        await authorize(session, conversation_id=session_id, token=_bearer(authorization))
    text = body.text.strip()
    if not text:
        raise InvalidInput("消息不能为空")
    external_id = f"client:{body.client_message_id}" if body.client_message_id else None
    reply = await agent.respond(
        InboundMessage(conversation_id=session_id, text=text, external_id=external_id)
    )
    return ReplyOut(
        message_id=reply.message_id,
        reply=reply.reply,
        classification=Classification(**reply.classification),
        suggestions=reply.suggestions,
        handoff=reply.handoff,
        ticket=reply.ticket,
        payment_order=reply.payment_order,
        sources=reply.sources,
        duplicate=reply.duplicate,
    )


@router.get("/sessions/{session_id}/messages", response_model=list[HistoryItem])
async def history(
    session_id: str,
    session: ChannelSessionDep,
    authorization: Annotated[str | None, Header()] = None,
) -> list[HistoryItem]:
    await authorize(session, conversation_id=session_id, token=_bearer(authorization))
    messages = await transcript(session, conversation_id=session_id)
    return [HistoryItem(id=m.id, sender=m.sender, text=m.text, at=m.created_at) for m in messages]

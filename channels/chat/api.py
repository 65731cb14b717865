"""The chat API, built once per channel that mounts it (web widget, company app).

A channel differs only in its URL prefix, its OpenAPI tag and which conversation channels its
tokens may open; every handler is shared, so the app and the widget cannot drift apart.
"""

# No `from __future__ import annotations`: FastAPI must resolve the handlers' annotations, and
# ConversationDep is local to the factory, out of reach of string annotations.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sse_starlette.sse import EventSourceResponse

from agent.inbound import InboundMessage
from channels.chat import streams, tracking
from channels.chat.schemas import (
    AttachmentOut,
    Classification,
    HistoryItem,
    MessageIn,
    ReplyOut,
    SessionIn,
    SessionOut,
    SessionState,
    TicketTrack,
)
from channels.chat.sessions import authorize, open_chat_session
from channels.chat.uploads import store_photo
from channels.deps import AgentDep, ChannelServicesDep, ChannelSessionDep
from tools.conversations.models import Conversation
from tools.conversations.service import get_conversation, transcript
from tools.crm.models import Account
from tools.crm.schemas import AccountMasked
from tools.errors import InvalidInput, NotFound, Unauthenticated
from tools.staff.models import StaffUser

_bearer = HTTPBearer(auto_error=False, description="创建会话时返回的 token")
_SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "server-sent events（见接口说明）"}
}


def make_chat_router(
    *, prefix: str, tag: str, channels: tuple[str, ...], fixed_channel: str | None
) -> APIRouter:
    """``channels``: conversation channels this router's tokens open; ``fixed_channel``: the channel
    new sessions get whatever the body says (the app router), or None to take it from the body."""
    router = APIRouter(prefix=prefix, tags=[tag])

    async def current_conversation(
        session_id: str,
        services: ChannelServicesDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Conversation:
        async with services.sessions() as session:
            conversation = await authorize(
                session, conversation_id=session_id, token=credentials.credentials if credentials else None
            )
        if conversation.channel not in channels:
            raise Unauthenticated("会话不存在或令牌无效")
        return conversation

    ConversationDep = Annotated[Conversation, Depends(current_conversation)]

    @router.post(
        "/sessions", response_model=SessionOut, status_code=201, summary="创建会话（可同时绑定户号）"
    )
    async def create_session(
        body: SessionIn, session: ChannelSessionDep, services: ChannelServicesDep, agent: AgentDep
    ) -> Any:
        """户号 + 手机号后四位正确即识别住户；不填为匿名会话（只能咨询）。错误 403，当天失败 5 次 429。"""
        opened = await open_chat_session(
            session,
            channel=fixed_channel or body.channel,
            clock=services.clock,
            account_no=body.account_no,
            phone_last4=body.phone_last4,
        )
        if opened.binding_error:
            # Commit the failed attempt (it counts toward the limit), then answer with the error.
            await session.commit()
            status = 429 if opened.locked else 403
            code = "binding_locked" if opened.locked else "binding_failed"
            return JSONResponse(
                {"error": {"code": code, "message": opened.binding_error}}, status_code=status
            )
        resident = agent.resident_context(opened.conversation)
        return SessionOut(
            session_id=opened.conversation.id,
            token=opened.token,
            resident=AccountMasked.of(opened.account) if opened.account else None,
            suggestions=await agent.suggest(session, resident, None),
        )

    @router.get("/sessions/{session_id}", response_model=SessionState, summary="会话状态（是否人工接待）")
    async def state(conversation: ConversationDep, session: ChannelSessionDep) -> SessionState:
        return await _state(session, conversation.id)

    @router.post("/sessions/{session_id}/messages", response_model=ReplyOut, summary="发送消息并获取回复")
    async def post_message(conversation: ConversationDep, body: MessageIn, agent: AgentDep) -> ReplyOut:
        """同一 client_message_id 重发只会得到第一次的回复。
        人工坐席接管期间 reply 为空，坐席回复经事件流推送。"""
        return await _turn(agent, conversation.id, body)

    @router.post(
        "/sessions/{session_id}/messages/stream",
        response_class=EventSourceResponse,
        responses=_SSE_DOC,
        summary="发送消息，流式返回回复（SSE）",
    )
    async def post_message_stream(conversation: ConversationDep, body: MessageIn, agent: AgentDep) -> Any:
        """事件：`typing`（已收到）、`ping`（保活）、`delta` {text}（回复片段，按顺序拼接）、
        `done`（与非流式接口相同的完整结果）、`error` {code, message}。客户端断开不会中断已受理的消息。"""
        _clean(body)

        async def turn() -> dict[str, Any]:
            return (await _turn(agent, conversation.id, body)).model_dump(mode="json")

        return EventSourceResponse(streams.streamed_reply(turn()), ping=15)

    @router.get("/sessions/{session_id}/messages", response_model=list[HistoryItem], summary="会话记录")
    async def history(conversation: ConversationDep, session: ChannelSessionDep) -> list[HistoryItem]:
        messages = await transcript(session, conversation_id=conversation.id)
        return [
            HistoryItem(
                id=m.id,
                sender=m.sender,
                text=m.text,
                at=m.created_at,
                attachments=list((m.meta or {}).get("attachments") or []),
            )
            for m in messages
        ]

    @router.get(
        "/sessions/{session_id}/events",
        response_class=EventSourceResponse,
        responses=_SSE_DOC,
        summary="实时事件流（坐席回复、坐席接入/离开、工单进度）",
    )
    async def events(conversation: ConversationDep, request: Request, services: ChannelServicesDep) -> Any:
        """事件：`ready`（当前会话状态）、`message` {message_id, sender: "agent", text}、
        `agent_joined` {agent_name}、`agent_left`、`ticket`（工单追踪视图，进度变化时推送）。
        断线重连后请重新读取会话记录和工单。"""
        async with services.sessions() as session:
            ready = (await _state(session, conversation.id)).model_dump(mode="json")
        return EventSourceResponse(
            streams.live_events(
                bus=request.app.state.events,
                conversation_id=conversation.id,
                account_id=conversation.account_id,
                sessions=services.sessions,
                poll_s=services.settings.chat_ticket_poll_s,
                ready=ready,
                is_disconnected=request.is_disconnected,
            ),
            ping=15,
        )

    @router.get(
        "/sessions/{session_id}/tickets", response_model=list[TicketTrack], summary="我的报修工单进度"
    )
    async def tickets(conversation: ConversationDep, session: ChannelSessionDep) -> list[TicketTrack]:
        """绑定户号的会话可见本户全部工单（最新在前）；匿名会话为空列表。"""
        if conversation.account_id is None:
            return []
        return [
            tracking.track(t)
            for t in await tracking.account_tickets(session, account_id=conversation.account_id)
        ]

    @router.get(
        "/sessions/{session_id}/tickets/{ticket_no}", response_model=TicketTrack, summary="单个工单进度"
    )
    async def ticket(
        ticket_no: str, conversation: ConversationDep, session: ChannelSessionDep
    ) -> TicketTrack:
        found = None
        if conversation.account_id is not None:
            found = await tracking.ticket_by_no(
                session, account_id=conversation.account_id, ticket_no=ticket_no
            )
        if found is None:
            raise NotFound("未找到您名下的该工单")
        return tracking.track(found)

    @router.post(
        "/sessions/{session_id}/attachments",
        response_model=AttachmentOut,
        status_code=201,
        summary="上传照片（附到进行中的工单）",
    )
    async def attach(
        conversation: ConversationDep,
        session: ChannelSessionDep,
        services: ChannelServicesDep,
        request: Request,
        file: Annotated[UploadFile, File(description="JPG / PNG / WebP 照片")],
        ticket_no: Annotated[str | None, Form(max_length=24)] = None,
    ) -> AttachmentOut:
        """按文件内容识别类型，非图片 415，超过大小上限 413。
        绑定户号且有进行中的工单时附到该工单（或指定 ticket_no）。"""
        current = await get_conversation(session, conversation.id)
        photo = await store_photo(
            session,
            conversation=current,
            upload=file,
            uploads_dir=services.settings.uploads_dir,
            max_bytes=services.settings.upload_max_bytes,
            clock=services.clock,
            ticket_no=ticket_no or None,
        )
        await request.app.state.events.publish(
            "queue", {"type": "message", "conversation_id": conversation.id}
        )
        number = photo.ticket.ticket_no if photo.ticket else None
        return AttachmentOut(
            attachment_id=photo.attachment_id,
            content_type=photo.content_type,
            size=photo.size,
            ticket_no=number,
            message=f"照片已附到工单{number}，师傅上门前会先看到。"
            if number
            else "照片已收到，客服会一并查看。",
        )

    return router


def _clean(body: MessageIn) -> str:
    text = body.text.strip()
    if not text:
        raise InvalidInput("消息不能为空")
    return text


async def _turn(agent: Any, conversation_id: str, body: MessageIn) -> ReplyOut:
    text = _clean(body)
    external_id = f"client:{body.client_message_id}" if body.client_message_id else None
    reply = await agent.respond(
        InboundMessage(conversation_id=conversation_id, text=text, external_id=external_id)
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


async def _state(session: Any, conversation_id: str) -> SessionState:
    conversation = await get_conversation(session, conversation_id)
    account = await session.get(Account, conversation.account_id) if conversation.account_id else None
    staff = await session.get(StaffUser, conversation.owner_staff_id) if conversation.owner_staff_id else None
    return SessionState(
        session_id=conversation.id,
        channel=conversation.channel,
        resident=AccountMasked.of(account) if account else None,
        owner="agent" if staff else "bot",
        agent_name=staff.display_name if staff else None,
        waiting_for_agent=staff is None and conversation.handoff_requested_at is not None,
    )

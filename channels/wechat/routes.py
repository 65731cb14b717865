"""The official account's server URL: GET verification, POST messages and events.

The turn runs in the background and the passive reply waits until ``PASSIVE_WAIT_S`` after the
request arrived (decryption and database time count against WeChat's 5-second window); a slower
turn answers "success" now and its reply goes out later through the outbox (customer-service
message API). A retried push carries the same MsgId, which the agent runtime turns into the
earlier answer instead of a second turn; when that earlier answer already went out as a late
message, the retry gets "success" so it is not shown twice.

Late replies are written to the outbox first (durable), then tried at once through the app's
outbox delivery; a failed send stays pending and the delivery job retries it with backoff.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select, update

from agent.inbound import AgentReply, InboundMessage
from channels.deps import AgentDep, ChannelServicesDep
from channels.wechat.media import store_picture
from channels.wechat.protocol import (
    MAX_BODY,
    NonceCache,
    PayloadTooLarge,
    WeChatConfig,
    read_message,
    render_reply,
)
from channels.wechat.protocol import verify_url as verify_signature
from tools.conversations.closing import find_current_conversation
from tools.conversations.service import open_conversation
from tools.crm.binding import attempt_binding, get_or_create_identity, unbind
from tools.crm.models import ChannelIdentity
from tools.db import transaction
from tools.errors import DomainError, PermissionDenied
from tools.logging import get_logger
from tools.outbox import OutboxMessage, enqueue, release_waiting

router = APIRouter(prefix="/wechat", tags=["wechat"])
log = get_logger(__name__)

PASSIVE_WAIT_S = 4.0  # from the request's arrival: 1 s of WeChat's 5 s left for the network
WELCOME = (
    "欢迎关注恒暖热力！我是暖线小助手，暖气不热、漏水报修、缴费、报停、查进度都可以直接发消息问我。\n"
    "绑定户号后可查询账单和报修：请回复“绑定 户号 手机后四位”，例如：绑定 2026010001 0001"
)
MENU = {
    "REPORT_NO_HEAT": "暖气不热",
    "REPORT_LEAK": "暖气漏水",
    "PAY": "我要缴费",
    "BILL": "查询账单",
    "PROGRESS": "查询维修进度",
    "SUSPEND": "怎么报停",
    "HUMAN": "转人工",
}
TIMESTAMP = r"^[0-9]{1,20}$"  # Unix seconds, as WeChat sends them
BIND = re.compile(r"^\s*绑定\s*(\d{10})\s*[,，\s]\s*(\d{4})\s*$")
UNBIND = re.compile(r"^\s*(解绑|解除绑定)\s*$")


def _config(request: Request) -> WeChatConfig:
    settings = request.app.state.services.settings
    return WeChatConfig(
        token=settings.wechat_token, app_id=settings.wechat_app_id, aes_key=settings.wechat_aes_key
    )


def _nonces(request: Request) -> NonceCache:
    cache = getattr(request.app.state, "wechat_nonces", None)
    if cache is None:
        cache = request.app.state.wechat_nonces = NonceCache(request.app.state.services.settings.redis_url)
    return cache


@router.get("", response_class=PlainTextResponse)
async def verify(
    request: Request,
    signature: Annotated[str, Query(max_length=128)],
    timestamp: Annotated[str, Query(pattern=TIMESTAMP)],
    nonce: Annotated[str, Query(max_length=64)],
    echostr: Annotated[str, Query(max_length=512)],
) -> str:
    verify_signature(_config(request), signature=signature, timestamp=timestamp, nonce=nonce, now=time.time())
    return echostr


def _text_of(message: Any) -> str | None:
    kind = message.type
    if kind == "text":
        return message.content
    if kind == "voice":
        return getattr(message, "recognition", None) or "（语音消息）"
    if kind == "location":
        return f"我的位置：{message.label or ''}（{message.location_x},{message.location_y}）"
    if kind == "image":
        return "（图片）"
    if kind == "event" and message.event == "click":
        return MENU.get(message.key)
    return None


@router.post(
    "",
    responses={
        200: {
            "description": "被动回复 XML（安全模式下为加密 XML），或 success（稍后经客服消息回复）",
            "content": {
                "application/xml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def receive(
    request: Request,
    services: ChannelServicesDep,
    agent: AgentDep,
    timestamp: Annotated[str, Query(pattern=TIMESTAMP)],
    nonce: Annotated[str, Query(max_length=64)],
    signature: Annotated[str, Query(max_length=128)] = "",
    msg_signature: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    arrived = time.monotonic()
    body = await _read_capped(request)
    config = _config(request)
    message = read_message(
        config, body, signature=signature, timestamp=timestamp, nonce=nonce, msg_signature=msg_signature
    )
    if not await _nonces(request).first_time(f"{timestamp}:{nonce}", time.time()):
        raise PermissionDenied("重复的请求", code="replay")
    text = await _handle(message, services, agent, request, deadline=arrived + PASSIVE_WAIT_S)
    # The passive-window figure operations watch (and evals/bench_wechat reads): time from arrival.
    log.info("wechat_answered", elapsed_ms=round((time.monotonic() - arrived) * 1000), late=not text)
    if not text:
        return PlainTextResponse("success")
    return Response(
        render_reply(config, message, text, nonce=nonce, timestamp=timestamp), media_type="application/xml"
    )


async def _read_capped(request: Request) -> bytes:
    """The body, never buffering more than ``MAX_BODY``: Starlette has no cap of its own, and a
    chunked upload declares no length, so the declared length alone would not stop a 1 GB body."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge("消息体过大")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge("消息体过大")
        chunks.append(chunk)
    return b"".join(chunks)


async def _handle(
    message: Any, services: Any, agent: Any, request: Request, *, deadline: float
) -> str | None:
    openid = message.source
    if message.type == "event" and message.event == "subscribe":
        async with transaction(services.sessions) as session:
            await get_or_create_identity(session, channel="wechat", external_id=openid)
        return WELCOME
    if message.type == "event" and message.event == "unsubscribe":
        return None
    text = _text_of(message)
    if not text:
        return None
    if (bind := BIND.match(text)) or UNBIND.match(text):
        return await _binding(services, openid, bind)
    async with transaction(services.sessions) as session:
        identity = await get_or_create_identity(session, channel="wechat", external_id=openid)
        # Lock the identity row (PostgreSQL row lock, SQLite write lock) before looking for its open
        # conversation: concurrent pushes from one openid must not open two conversations, because
        # MsgId dedupe works within one conversation.
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.id == identity.id)
            .values(external_id=ChannelIdentity.external_id)
            .execution_options(synchronize_session=False)
        )
        # Continues a conversation closed within the reopen window (tools/conversations/closing.py).
        conversation = await find_current_conversation(
            session,
            identity_id=identity.id,
            clock=services.clock,
            reopen_within=timedelta(hours=services.settings.conversation_reopen_hours),
        )
        if conversation is None or conversation.account_id != identity.account_id:
            conversation = await open_conversation(
                session,
                channel="wechat",
                clock=services.clock,
                identity_id=identity.id,
                account_id=identity.account_id,
            )
        conversation_id = conversation.id
    external = getattr(message, "id", None)
    external_id = (
        f"wx:{external}"
        if external
        else f"wx:{openid}:{message.time}:{message.type}"  # wechatpy: time is CreateTime, an int
    )
    attachments: tuple[str, ...] = ()
    if message.type == "image":
        attachments = (await store_picture(message, settings=services.settings, clock=services.clock),)
    inbound = InboundMessage(
        conversation_id=conversation_id, text=text, external_id=external_id, attachments=attachments
    )
    task = asyncio.create_task(agent.respond(inbound))
    done, _ = await asyncio.wait({task}, timeout=max(0.05, deadline - time.monotonic()))
    key = _late_key(conversation_id, external_id)
    if task in done:
        try:
            reply = task.result()
        except DomainError as refused:  # rate limit or length cap: nothing was stored, say why
            return refused.message
        if reply.duplicate and await _went_out_late(services, key):
            return None
        return reply.reply
    # Before answering "success", leave a durable mark that this MsgId's reply goes out late, so a
    # retried push that replays the reply later answers "success" too instead of showing it twice.
    async with transaction(services.sessions) as session:
        await enqueue(
            session,
            clock=services.clock,
            kind="agent_reply",
            text="",
            conversation_id=conversation_id,
            dedupe_key=key,
            status="waiting",
        )
    pending = request.app.state.__dict__.setdefault("wechat_pending", set())
    delivery = getattr(request.app.state, "delivery", None)
    late = asyncio.create_task(_deliver_late(task, services, delivery, key))
    pending.add(late)
    late.add_done_callback(pending.discard)
    return None


def _late_key(conversation_id: str, external_id: str) -> str:
    return f"late_reply:{conversation_id}:{external_id}"[:128]


async def _went_out_late(services: Any, key: str) -> bool:
    async with services.sessions() as session:
        return (
            await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is not None
        )


async def _deliver_late(task: asyncio.Task[AgentReply], services: Any, delivery: Any, key: str) -> None:
    """Fill the waiting outbox row with the slow turn's reply, then try it at once.

    A replayed duplicate leaves the row alone (it belongs to the original push, which may still be
    filling it); a turn a human agent owns has nothing to say, so its placeholder is cancelled. A
    crashed turn leaves the placeholder waiting (never sent, visible in the outbox).
    """
    try:
        reply = await task
    except Exception:
        log.exception("wechat_turn_failed", outbox_key=key)
        return
    if reply.duplicate:
        return
    text, payload = reply.reply, {"message_id": reply.message_id}
    async with transaction(services.sessions) as session:
        row_id = await release_waiting(session, dedupe_key=key, text=text, payload=payload)
    if delivery is None or row_id is None:
        return
    try:
        await delivery.deliver_now(row_id)
    except Exception:  # the row stays pending: the delivery job picks it up
        log.exception("wechat_late_reply_send_failed", outbox_id=row_id)


async def _binding(services: Any, openid: str, bind: re.Match[str] | None) -> str:
    async with transaction(services.sessions) as session:
        identity = await get_or_create_identity(session, channel="wechat", external_id=openid)
        if bind is None:
            await unbind(session, identity=identity, clock=services.clock)
            return "已解除户号绑定。需要时可回复“绑定 户号 手机后四位”重新绑定。"
        outcome = await attempt_binding(
            session,
            identity=identity,
            account_no=bind.group(1),
            phone_last4=bind.group(2),
            clock=services.clock,
        )
    if not outcome.ok:
        return outcome.message
    return f"绑定成功！户号{outcome.account.account_no}。现在可以直接问我账单、缴费和报修进度。"

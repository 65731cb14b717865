"""The official account's server URL: GET verification, POST messages and events.

The turn runs in the background and the passive reply waits at most ``PASSIVE_WAIT_S`` of
WeChat's 5-second window; a slower turn answers "success" now and its reply goes out later
through the outbox (customer-service message API). A retried push carries the same MsgId, which
the agent runtime turns into the earlier answer instead of a second turn.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from agent.inbound import AgentReply, InboundMessage
from channels.deps import AgentDep, ChannelServicesDep
from channels.wechat.protocol import (
    MAX_BODY,
    NonceCache,
    PayloadTooLarge,
    WeChatConfig,
    read_message,
    render_reply,
)
from channels.wechat.protocol import verify_url as verify_signature
from tools.conversations.service import find_open_conversation, open_conversation
from tools.crm.binding import attempt_binding, get_or_create_identity, unbind
from tools.db import transaction
from tools.errors import PermissionDenied
from tools.logging import get_logger
from tools.outbox import enqueue

router = APIRouter(prefix="/wechat", tags=["wechat"])
log = get_logger(__name__)

PASSIVE_WAIT_S = 4.0
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
    timestamp: Annotated[str, Query(max_length=20)],
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
        return f"我的位置：{message.label}"
    if kind == "image":
        return "（图片）"
    if kind == "event" and message.event == "click":
        return MENU.get(message.key)
    return None


@router.post("")
async def receive(
    request: Request,
    services: ChannelServicesDep,
    agent: AgentDep,
    timestamp: Annotated[str, Query(max_length=20)],
    nonce: Annotated[str, Query(max_length=64)],
    signature: Annotated[str, Query(max_length=128)] = "",
    msg_signature: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge("消息体过大")
    body = await request.body()
    config = _config(request)
    message = read_message(
        config, body, signature=signature, timestamp=timestamp, nonce=nonce, msg_signature=msg_signature
    )
    if not await _nonces(request).first_time(f"{timestamp}:{nonce}", time.time()):
        raise PermissionDenied("重复的请求", code="replay")
    text = await _handle(message, services, agent, request)
    if not text:
        return PlainTextResponse("success")
    return Response(
        render_reply(config, message, text, nonce=nonce, timestamp=timestamp), media_type="application/xml"
    )


async def _handle(message: Any, services: Any, agent: Any, request: Request) -> str | None:
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
        conversation = await find_open_conversation(session, identity_id=identity.id)
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
        f"wx:{external}" if external else f"wx:{openid}:{int(message.time.timestamp())}:{message.type}"
    )
    inbound = InboundMessage(conversation_id=conversation_id, text=text, external_id=external_id)
    task = asyncio.create_task(agent.respond(inbound))
    done, _ = await asyncio.wait({task}, timeout=PASSIVE_WAIT_S)
    if task in done:
        return task.result().reply
    pending = request.app.state.__dict__.setdefault("wechat_pending", set())
    pending.add(task)
    task.add_done_callback(
        lambda finished: asyncio.create_task(_deliver_late(finished, services, openid, pending))
    )
    return None


async def _deliver_late(task: asyncio.Task[AgentReply], services: Any, openid: str, pending: set) -> None:
    pending.discard(task)
    if task.cancelled() or task.exception() is not None:
        log.error("wechat_turn_failed", openid=openid)
        return
    reply = task.result()
    if reply.reply and not reply.duplicate:
        async with transaction(services.sessions) as session:
            await enqueue(
                session,
                clock=services.clock,
                kind="agent_reply",
                text=reply.reply,
                payload={"channel": "wechat", "openid": openid},
                dedupe_key=f"late_reply:{reply.message_id}",
            )


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

"""The official account's server URL: GET verification, POST messages and events.

Everything after decryption (identity, conversation, the turn) runs as one background task, and the
passive reply waits for it until ``PASSIVE_WAIT_S`` after the request arrived. A slower task, be it
a slow model or a database queue in the midnight surge, gets "success" at that deadline and its
reply goes out later through the outbox (customer-service message API). Nothing on the path to
"success" waits for the database: the load run found SQLite's write queue holding the old
placeholder write, and the passive answer, for 8 s.

A retried push carries the same MsgId, which the agent runtime turns into the earlier answer
instead of a second turn. When that earlier answer went out late, the retry gets "success" so it is
not shown twice: the late decision is marked (Redis when configured, else in memory) before
"success" is sent, and the outbox row of the late reply keeps it durably. Before "success" the push
is also journaled on disk (channels/wechat/journal.py), and replayed at start if the process died
before its reply reached the outbox.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select, update
from wechatpy import parse_message

from agent.inbound import InboundMessage
from channels.deps import AgentDep, ChannelServicesDep
from channels.wechat.journal import InboundJournal
from channels.wechat.media import store_picture
from channels.wechat.protocol import (
    MAX_BODY,
    MAX_SKEW_S,
    OnceKeys,
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
from tools.outbox import OutboxMessage, enqueue

router = APIRouter(prefix="/wechat", tags=["wechat"])
log = get_logger(__name__)

# From the handler's start. WeChat's 5 s also covers its network and the time a request waits
# for the event loop before the handler starts: under a saturated CPU (evals/bench_wechat, 4,000
# pushes) that was up to 0.85 s, so 1.5 s of the window are left outside.
PASSIVE_WAIT_S = 3.5
JOURNAL_WAIT_S = 0.5  # the most the journal write may add to a "success"
LATE_MARK_TTL_S = 3600  # WeChat retries within ~15 s; later the outbox row answers
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


def _nonces(request: Request) -> OnceKeys:
    cache = getattr(request.app.state, "wechat_nonces", None)
    if cache is None:
        cache = request.app.state.wechat_nonces = OnceKeys(
            request.app.state.services.settings.redis_url, prefix="wx-nonce", ttl_s=2 * MAX_SKEW_S
        )
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
    external_id = _external_id(message)
    marks = _late_marks(request)
    work = asyncio.create_task(_handle(message, services, agent, external_id))
    done, _ = await asyncio.wait({work}, timeout=max(0.05, arrived + PASSIVE_WAIT_S - time.monotonic()))
    if work in done:
        outcome = work.result()
        late_before = outcome.duplicate and (
            await marks.seen(external_id, time.time()) or await _went_out_late(services, external_id)
        )
        text = None if late_before else outcome.text
    else:
        # Marked before "success" goes out, so a retry of this MsgId never shows the reply twice,
        # and journaled, so a crash before the reply is out does not lose the message.
        await marks.first_time(external_id, time.time())
        try:  # shielded: a write still under way when the cap passes still lands
            await asyncio.wait_for(
                asyncio.shield(_journal(request).record(message, external_id=external_id)),
                timeout=JOURNAL_WAIT_S,
            )
        except (OSError, TimeoutError):
            log.exception("wechat_journal_write_failed")
        pending = request.app.state.__dict__.setdefault("wechat_pending", set())
        late = asyncio.create_task(
            _deliver_late(
                work,
                services,
                getattr(request.app.state, "delivery", None),
                openid=message.source,
                external_id=external_id,
            )
        )
        pending.add(late)
        late.add_done_callback(pending.discard)
        text = None
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


@dataclass(frozen=True)
class Outcome:
    """What the background task settled on: the text to send, and where a late reply belongs."""

    text: str | None
    conversation_id: str | None = None
    message_id: str | None = None
    duplicate: bool = False  # the earlier answer to a retried MsgId


def _external_id(message: Any) -> str:
    msg_id = getattr(message, "id", None)
    if msg_id:
        return f"wx:{msg_id}"
    return f"wx:{message.source}:{message.time}:{message.type}"  # events: wechatpy's time is CreateTime


async def _handle(message: Any, services: Any, agent: Any, external_id: str) -> Outcome:
    openid = message.source
    if message.type == "event" and message.event == "subscribe":
        async with transaction(services.sessions) as session:
            await get_or_create_identity(session, channel="wechat", external_id=openid)
        return Outcome(WELCOME)
    if message.type == "event" and message.event == "unsubscribe":
        return Outcome(None)
    text = _text_of(message)
    if not text:
        return Outcome(None)
    if (bind := BIND.match(text)) or UNBIND.match(text):
        return Outcome(await _binding(services, openid, bind))
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
    attachments: tuple[str, ...] = ()
    if message.type == "image":
        attachments = (await store_picture(message, settings=services.settings, clock=services.clock),)
    inbound = InboundMessage(
        conversation_id=conversation_id, text=text, external_id=external_id, attachments=attachments
    )
    try:
        reply = await agent.respond(inbound)
    except DomainError as refused:  # rate limit or length cap: nothing was stored, say why
        return Outcome(refused.message, conversation_id)
    return Outcome(reply.reply, conversation_id, reply.message_id, reply.duplicate)


def _late_key(external_id: str) -> str:
    return f"late_reply:{external_id}"[:128]


def _late_marks(request: Request) -> OnceKeys:
    marks = getattr(request.app.state, "wechat_late", None)
    if marks is None:
        marks = request.app.state.wechat_late = OnceKeys(
            request.app.state.services.settings.redis_url, prefix="wx-late", ttl_s=LATE_MARK_TTL_S
        )
    return marks


async def _went_out_late(services: Any, external_id: str) -> bool:
    async with services.sessions() as session:
        return await _late_row(session, _late_key(external_id)) is not None


async def _late_row(session: Any, key: str) -> str | None:
    return await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))


async def _deliver_late(
    work: asyncio.Task[Outcome], services: Any, delivery: Any, *, openid: str, external_id: str
) -> None:
    """Send the slow task's reply once it is there. A replayed duplicate sends nothing (the original
    push owns the reply); a turn a human agent owns has nothing to say."""
    try:
        outcome = await work
    except Exception:
        log.exception("wechat_turn_failed")
        return
    if not outcome.duplicate:
        await _send_late(outcome, services, delivery, openid=openid, external_id=external_id)


async def _send_late(
    outcome: Outcome, services: Any, delivery: Any, *, openid: str, external_id: str
) -> bool:
    """Record the reply in the outbox, then try it at once. The row's dedupe key is the MsgId's, so
    two late paths of one message cannot both send, and a retry after a restart still finds that the
    reply went out late. False when there was nothing to send or another path recorded it."""
    if not outcome.text:
        return False
    key = _late_key(external_id)
    async with transaction(services.sessions) as session:
        if await _late_row(session, key):
            return False
        row = await enqueue(
            session,
            clock=services.clock,
            kind="agent_reply",
            text=outcome.text,
            conversation_id=outcome.conversation_id,
            payload={"message_id": outcome.message_id, "channel": "wechat", "external_id": openid},
            dedupe_key=key,
        )
        row_id = row.id
    if delivery is not None:
        try:
            await delivery.deliver_now(row_id)
        except Exception:  # the row stays pending: the delivery job picks it up
            log.exception("wechat_late_reply_send_failed", outbox_id=row_id)
    return True


def _journal(request: Request) -> InboundJournal:
    journal = getattr(request.app.state, "wechat_journal", None)
    if journal is None:
        journal = request.app.state.wechat_journal = journal_of(request.app.state.services.settings)
    return journal


def journal_of(settings: Any) -> InboundJournal:
    return InboundJournal(settings.data_dir / "wechat-journal")


async def replay_journal(state: Any) -> int:
    """At start: finish every journaled push whose late reply never made it to the outbox (the
    process died first). Returns how many replies this sent. Called by the app's lifespan."""
    journal = journal_of(state.services.settings)
    await asyncio.to_thread(journal.prune)
    sent = 0
    for entry in await asyncio.to_thread(journal.entries):
        if not entry.xml or await _went_out_late(state.services, entry.external_id):
            continue
        try:
            message = parse_message(entry.xml)
            outcome = await _handle(message, state.services, state.agent, entry.external_id)
            # A duplicate here is the answer the dead process stored but never sent: send it now.
            if await _send_late(
                outcome,
                state.services,
                getattr(state, "delivery", None),
                openid=entry.openid,
                external_id=entry.external_id,
            ):
                sent += 1
        except Exception:  # one bad entry must not stop the others
            log.exception("wechat_journal_replay_failed", external_id=entry.external_id)
    if sent:
        log.info("wechat_journal_replayed", sent=sent)
    return sent


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

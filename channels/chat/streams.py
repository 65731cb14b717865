"""Server-sent event streams of a chat: live pushes, and a reply delivered piece by piece.

The live stream merges two sources: the event bus topic ``conversation:<id>`` (agent replies,
agent joined/left, published by the back office on any worker through Redis) and a periodic look
at the resident's tickets (progress is written by dispatch, workers' phones and jobs, which do not
all publish). Events are notifications: a client that reconnects reloads history and tickets.

Only what a resident may see is forwarded: residents' and the bot's own messages arrive in the
reply to the request that sent them, internal notes are never published, and labels stay out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.chat import tracking
from tools.errors import DomainError
from tools.events import EventBus
from tools.logging import get_logger

log = get_logger(__name__)

Frame = dict[str, str]
_running: set[asyncio.Future[Any]] = set()
_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?\n]+|[^。！？!?\n]+$")


def frame(event: str, data: Any) -> Frame:
    return {"event": event, "data": json.dumps(data, ensure_ascii=False, default=str)}


def resident_visible(event: dict[str, Any]) -> Frame | None:
    kind = event.get("type")
    if kind == "message" and event.get("sender") == "agent":
        return frame("message", {k: event.get(k) for k in ("message_id", "sender", "text", "at")})
    if kind == "agent_joined":
        return frame("agent_joined", {"agent_name": event.get("agent")})
    if kind == "agent_left":
        return frame("agent_left", {})
    return None


async def live_events(
    *,
    bus: EventBus,
    conversation_id: str,
    account_id: str | None,
    sessions: async_sessionmaker[AsyncSession],
    poll_s: float,
    ready: dict[str, Any],
    is_disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[Frame]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(256)

    async def pump() -> None:
        async with bus.subscribe(f"conversation:{conversation_id}") as events:
            subscribed.set()
            async for event in events:
                if inbox.full():
                    inbox.get_nowait()
                inbox.put_nowait(event)

    subscribed = asyncio.Event()
    task = asyncio.create_task(pump())
    try:
        await asyncio.wait_for(subscribed.wait(), timeout=5)
        seen: tracking.Signature = {}
        if account_id:
            async with sessions() as session:
                seen = await tracking.signature(session, account_id=account_id)
        yield frame("ready", ready)
        while True:
            try:
                event = await asyncio.wait_for(inbox.get(), timeout=poll_s)
            except TimeoutError:
                event = None
            if event is not None and (out := resident_visible(event)) is not None:
                yield out
            if await is_disconnected():
                break
            if account_id and event is None:
                async with sessions() as session:
                    now = await tracking.signature(session, account_id=account_id)
                    for number in tracking.changed(seen, now):
                        ticket = await tracking.ticket_by_no(session, account_id=account_id, ticket_no=number)
                        if ticket is not None:
                            yield frame("ticket", tracking.track(ticket).model_dump(mode="json"))
                seen = now
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def pieces(text: str, *, size: int = 24) -> list[str]:
    """Sentence-sized pieces (long sentences cut at ``size`` characters), joined back exactly."""
    out: list[str] = []
    for sentence in _SENTENCE.findall(text):
        out.extend(sentence[i : i + size] for i in range(0, len(sentence), size))
    return out


async def streamed_reply(
    turn: Awaitable[dict[str, Any]], *, heartbeat_s: float = 10.0, pace_s: float = 0.03
) -> AsyncIterator[Frame]:
    """``typing`` at once, keep-alives while the turn runs, then ``delta`` pieces and ``done``.

    The offline policy writes a reply in one step, so the pieces come from the finished text; the
    wire format is the one a token-streaming model backend would use.
    """
    # A client that goes away mid-turn must not cancel it (the message is already accepted), so the
    # turn runs as its own task, kept referenced until it ends.
    task = asyncio.ensure_future(turn)
    _running.add(task)
    task.add_done_callback(_running.discard)
    yield frame("typing", {})
    while True:
        done, _ = await asyncio.wait({task}, timeout=heartbeat_s)
        if done:
            break
        yield {"event": "ping", "data": "{}"}
    try:
        reply = task.result()
    except DomainError as exc:
        yield frame("error", {"code": exc.code, "message": exc.message})
        return
    except Exception:  # the status line is already sent: report it in the stream, log the bug
        log.exception("chat_stream_turn_failed")
        yield frame("error", {"code": "internal", "message": "系统繁忙，请稍后再试"})
        return
    for piece in pieces(reply.get("reply") or ""):
        yield frame("delta", {"text": piece})
        await asyncio.sleep(pace_s)
    yield frame("done", reply)

"""What the agent console page needs beyond the conversations API.

- ``bootstrap``: who is logged in, the server's clock (waiting times are measured against it, not a
  desk PC's clock), and which tabs this role may open *and* this server actually serves, so the page
  never shows a tab whose API is missing.
- ``stream-ticket`` + ``events``: a browser's EventSource cannot send an Authorization header, so the
  page trades its bearer token for a one-minute ticket (its own JWT audience, useless as a bearer
  token) and opens the stream with it in the URL.
- ``mine``: conversations this agent has taken over (the queue only lists unowned ones).
- ``suggestions``: knowledge passages for the resident's last message, offered as reply drafts.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from backoffice.deps import ServicesDep, SessionDep, require_roles
from backoffice.routes.conversations import ConversationCard, _card
from backoffice.routes.dashboards import METRIC_NAMES_ZH
from backoffice.security import STREAM_TICKET_TTL_S, StaffClaims, issue_stream_ticket, read_stream_ticket
from kb.retriever import Scope
from tools.clock import local_date
from tools.conversations.models import Conversation, Message
from tools.conversations.service import get_conversation
from tools.crm.models import Account
from tools.errors import PermissionDenied, Unauthenticated
from tools.masking import mask_value

router = APIRouter(prefix="/api/v1/backoffice/console", tags=["console"])
Staff = Annotated[StaffClaims, Depends(require_roles("agent", "supervisor"))]

# tab -> (roles that may open it, API prefixes of which one must be served); admin passes every check.
_TABS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conversations": (("agent", "supervisor"), ("/api/v1/backoffice/conversations",)),
    "tickets": (("agent", "supervisor"), ("/api/v1/backoffice/tickets",)),
    "dashboard": (
        ("supervisor",),
        (
            "/api/v1/backoffice/dashboards",
            "/api/v1/backoffice/alerts",
            "/api/v1/backoffice/sla",
            "/api/v1/backoffice/dispatch/board",
        ),
    ),
    "quality": (("supervisor",), ("/api/v1/backoffice/quality",)),
    "kb": (("supervisor",), ("/api/v1/backoffice/kb",)),
}

CANNED_REPLIES = (
    "您好，我是暖线客服，已经看到您的问题，马上为您处理。",
    "非常抱歉给您带来不便，请您稍等，我这边正在核实。",
    "麻烦您提供一下户号或登记手机号后四位，方便我查询。",
    "已为您登记报修，维修师傅会尽快电话联系您，请保持电话畅通。",
    "请问家里现在室温大约多少度？是所有房间都不热，还是个别房间？",
    "如有漏水，请先关闭进户阀门，并把贵重物品移开，师傅马上到。",
    "您反映的情况我已记录并转交相关部门，处理结果会第一时间通知您。",
    "感谢您的耐心等待，还有其他可以帮您的吗？",
)


class Bootstrap(BaseModel):
    staff_id: str
    display_name: str
    role: str
    now: datetime
    timezone: str
    tabs: list[str]
    endpoints: dict[str, list[str]]
    field_names: dict[str, str]
    canned_replies: list[str]


class StreamTicket(BaseModel):
    ticket: str
    expires_in: int


class Suggestion(BaseModel):
    title: str
    text: str
    score: float


def _served(app: Any, prefixes: tuple[str, ...]) -> list[str]:
    """``"GET /path"`` / ``"POST /path"`` for every API operation the app serves under the prefixes.

    Read from the OpenAPI schema (built once and cached by FastAPI), the public view of what is routed.
    """
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    return sorted(
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith(prefixes)
        for method in operations
        if method in ("get", "post")
    )


@router.get("/bootstrap")
async def bootstrap(staff: Staff, services: ServicesDep, request: Request) -> Bootstrap:
    tabs: list[str] = []
    endpoints: dict[str, list[str]] = {}
    for tab, (roles, prefixes) in _TABS.items():
        if staff.role != "admin" and staff.role not in roles:
            continue
        served = _served(request.app, prefixes)
        if served:
            tabs.append(tab)
            endpoints[tab] = served
    return Bootstrap(
        staff_id=staff.staff_id,
        display_name=staff.name,
        role=staff.role,
        now=services.clock.now(),
        timezone=services.settings.timezone,
        tabs=tabs,
        endpoints=endpoints,
        field_names={**METRIC_NAMES_ZH, "start": "开始日期", "end": "结束日期", "at_risk": "临近超时"},
        canned_replies=list(CANNED_REPLIES),
    )


@router.post("/stream-ticket")
async def stream_ticket(staff: Staff, services: ServicesDep) -> StreamTicket:
    ticket = issue_stream_ticket(services.settings, staff, now=services.clock.now())
    return StreamTicket(ticket=ticket, expires_in=STREAM_TICKET_TTL_S)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def events(
    request: Request,
    services: ServicesDep,
    ticket: Annotated[str | None, Query(max_length=2000)] = None,
    conversation: Annotated[str | None, Query(max_length=64)] = None,
) -> EventSourceResponse:
    """The queue's events, or one conversation's when ``conversation`` is given; one ticket, one stream.

    A missing ticket is a 401 like a bad one (not a 422), so a client knows to fetch a ticket.
    """
    claims = read_stream_ticket(services.settings, ticket, now=services.clock.now()) if ticket else None
    if claims is None:
        raise Unauthenticated("实时连接已失效，请刷新页面")
    if claims.role not in ("agent", "supervisor", "admin"):
        raise PermissionDenied("没有权限执行此操作")
    topic = f"conversation:{conversation}" if conversation else "queue"
    bus = request.app.state.events

    async def stream() -> Any:
        yield {"event": "ready", "data": json.dumps({"topic": topic})}
        async with bus.subscribe(topic) as topic_events:
            async for event in topic_events:
                # Events carry message texts; staff get them masked, as in every other view.
                data = json.dumps(mask_value(event), ensure_ascii=False)
                yield {"event": event.get("type", "message"), "data": data}

    return EventSourceResponse(stream(), ping=15, headers={"Cache-Control": "no-store"})


@router.get("/mine")
async def mine(staff: Staff, session: SessionDep) -> list[ConversationCard]:
    """Open conversations this staff member owns, most recently active first."""
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.status == "open", Conversation.owner_staff_id == staff.staff_id)
        .order_by(Conversation.last_message_at.desc())
        .limit(50)
    )
    return [await _card(session, conversation) for conversation in rows]


@router.get("/conversations/{conversation_id}/suggestions")
async def suggestions(
    conversation_id: str, staff: Staff, session: SessionDep, services: ServicesDep, request: Request
) -> list[Suggestion]:
    """Resident-facing knowledge passages for the resident's last message (never staff-only documents)."""
    conversation = await get_conversation(session, conversation_id)
    last = await session.scalar(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.sender == "resident")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    if not last:
        return []
    community = building = None
    if conversation.account_id:
        account = await session.get(Account, conversation.account_id)
        if account is not None:
            community, building = account.building.community.name, account.building.number
    scope = Scope(today=local_date(services.clock), community=community, building=building)
    result = await asyncio.to_thread(request.app.state.kb.search, last, scope=scope, k=3)
    return [Suggestion(title=p.title, text=p.text, score=round(p.score, 3)) for p in result.passages]

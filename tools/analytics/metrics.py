"""Dashboard figures over a date range of the company's local calendar.

Queries select narrow rows with plain filters and the grouping by local day or hour happens in
Python: date functions differ between SQLite and PostgreSQL, and the company's timezone is not
the database's, so this keeps the figures identical on both backends. A season's messages are
well within what one request can read.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import COMPANY_TZ, Clock, at_local
from tools.conversations.models import Conversation, Message
from tools.errors import InvalidInput
from tools.followups.models import Survey
from tools.labels import CATEGORY_NAMES_ZH
from tools.tickets.lifecycle import OPEN_STATES
from tools.tickets.models import Ticket, TicketEvent

DIMENSIONS = ("channel", "category", "emotion", "urgency")
BUCKETS = ("day", "hour")
MAX_DAYS = 366
REPEAT_WINDOW = timedelta(days=30)


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


@dataclass(frozen=True)
class DateRange:
    """Local calendar days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        # Days near date.min/max overflow once turned into local midnights (found by schemathesis).
        if self.start < EARLIEST or self.end > LATEST:
            raise InvalidInput(f"日期须在 {EARLIEST} 至 {LATEST} 之间")
        if self.end < self.start:
            raise InvalidInput("结束日期不能早于开始日期")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidInput("统计区间最长一年")

    @property
    def since(self) -> datetime:
        return at_local(self.start)

    @property
    def until(self) -> datetime:
        return at_local(self.end + timedelta(days=1))


def bucket_of(moment: datetime, bucket: str) -> str:
    local = moment.astimezone(COMPANY_TZ)
    return f"{local:%Y-%m-%d}" if bucket == "day" else f"{local:%Y-%m-%d %H}:00"


async def volumes(
    session: AsyncSession, rng: DateRange, *, by: str, bucket: str = "day"
) -> list[dict[str, Any]]:
    """Resident messages per bucket and label value: ``[{"bucket", "key", "count"}]``."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"不支持的维度：{by}")
    if bucket not in BUCKETS:
        raise InvalidInput(f"不支持的时间粒度：{bucket}")
    column = Conversation.channel if by == "channel" else getattr(Message, by)
    rows = await session.execute(
        select(Message.created_at, column)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.sender == "resident", Message.created_at >= rng.since, Message.created_at < rng.until)
    )
    counts = Counter((bucket_of(at, bucket), key or "unknown") for at, key in rows)
    return [{"bucket": b, "key": k, "count": n} for (b, k), n in sorted(counts.items())]


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def conversation_figures(session: AsyncSession, rng: DateRange) -> dict[str, Any]:
    """First response, agent pickup, containment and escalation over conversations started in range."""
    rows = await session.execute(
        select(Message.conversation_id, Message.sender, Message.created_at, Message.meta)
        .where(Message.internal.is_(False), Message.created_at >= rng.since, Message.created_at < rng.until)
        .order_by(Message.conversation_id, Message.seq)
    )
    by_conversation: dict[str, list[tuple[str, datetime, dict]]] = defaultdict(list)
    for conversation_id, sender, at, meta in rows:
        by_conversation[conversation_id].append((sender, at, meta or {}))
    handoffs = dict(
        (
            await session.execute(
                select(Conversation.id, Conversation.handoff_requested_at).where(
                    Conversation.id.in_(list(by_conversation) or [""])
                )
            )
        ).all()
    )
    first_responses: list[float] = []
    pickups: list[float] = []
    total = escalated = 0
    for conversation_id, messages in by_conversation.items():
        if not any(sender == "resident" for sender, _, _ in messages):
            continue  # proactive messages only
        total += 1
        first_resident = next(at for sender, at, _ in messages if sender == "resident")
        reply = next(
            (at for sender, at, _ in messages if sender in ("bot", "agent") and at >= first_resident), None
        )
        if reply is not None:
            first_responses.append((reply - first_resident).total_seconds())
        handoff_at = handoffs.get(conversation_id) or next(
            (at for sender, at, meta in messages if sender == "bot" and meta.get("handoff")), None
        )
        agent_at = next((at for sender, at, _ in messages if sender == "agent"), None)
        if handoff_at is not None or agent_at is not None:
            escalated += 1
            if handoff_at is not None and agent_at is not None and agent_at >= handoff_at:
                pickups.append((agent_at - handoff_at).total_seconds())
    return {
        "conversations": total,
        "first_response_median_s": _median(first_responses),
        "first_response_p90_s": _p90(first_responses),
        "agent_pickup_median_s": _median(pickups),
        "escalated_conversations": escalated,
        "escalation_rate": _rate(escalated, total),
        "bot_containment_rate": _rate(total - escalated, total),
    }


async def ticket_figures(session: AsyncSession, rng: DateRange, *, clock: Clock) -> dict[str, Any]:
    tickets = list(
        await session.scalars(
            select(Ticket).where(Ticket.created_at >= rng.since, Ticket.created_at < rng.until)
        )
    )
    ids = [t.id for t in tickets] or [""]
    completed: dict[str, datetime] = {}
    for ticket_id, at in await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.at)
        .where(TicketEvent.ticket_id.in_(ids), TicketEvent.kind == "status", TicketEvent.status == "已完成")
        .order_by(TicketEvent.at)
    ):
        completed.setdefault(ticket_id, at)
    hours = [(completed[t.id] - t.created_at).total_seconds() / 3600 for t in tickets if t.id in completed]
    now = clock.now()
    breached = sum(
        1
        for t in tickets
        if (t.arrived_at is not None and t.arrived_at > t.sla_due_at)
        or (t.arrived_at is None and t.status in OPEN_STATES and now > t.sla_due_at)
    )
    accounts = {t.account_id for t in tickets}
    earlier = list(
        await session.execute(
            select(Ticket.account_id, Ticket.category, Ticket.created_at).where(
                Ticket.account_id.in_(list(accounts) or [""]),
                Ticket.created_at >= rng.since - REPEAT_WINDOW,
                Ticket.created_at < rng.until,
            )
        )
    )
    repeat = sum(
        1
        for t in tickets
        if any(
            a == t.account_id and c == t.category and t.created_at - REPEAT_WINDOW <= at < t.created_at
            for a, c, at in earlier
        )
    )
    return {
        "tickets": len(tickets),
        "tickets_completed": len(hours),
        "resolution_median_h": _median(hours),
        "sla_breaches": breached,
        "sla_breach_rate": _rate(breached, len(tickets)),
        "repeat_tickets": repeat,
        "repeat_ticket_rate": _rate(repeat, len(tickets)),
        "reopened_tickets": sum(1 for t in tickets if t.reopen_count > 0),
    }


async def survey_figures(session: AsyncSession, rng: DateRange) -> dict[str, Any]:
    sent = list(
        await session.scalars(select(Survey).where(Survey.sent_at >= rng.since, Survey.sent_at < rng.until))
    )
    answered = [s for s in sent if s.status == "answered"]
    scores = [s.score for s in answered if s.score is not None]
    return {
        "surveys_sent": len(sent),
        "surveys_answered": len(answered),
        "survey_response_rate": _rate(len(answered), len(sent)),
        "csat": _rate(sum(1 for s in scores if s >= 4), len(scores)),
        "average_score": round(sum(scores) / len(scores), 2) if scores else None,
        "hidden_dissatisfaction": sum(1 for s in answered if s.hidden_dissatisfaction),
        "surveys_flagged": sum(1 for s in answered if s.flagged),
    }


async def hot_topics(session: AsyncSession, rng: DateRange, *, limit: int = 10) -> dict[str, Any]:
    """The KB's latest mined topics when the KB has mined any, else the top message categories."""
    connection = await session.connection()
    has_mining = await connection.run_sync(lambda sync: inspect(sync).has_table("kb_hot_topics"))
    if has_mining:
        run = await session.scalar(text("SELECT run_id FROM kb_hot_topics ORDER BY mined_at DESC LIMIT 1"))
        if run is not None:
            rows = await session.execute(
                text("SELECT label, count, trend FROM kb_hot_topics WHERE run_id = :run ORDER BY count DESC"),
                {"run": run},
            )
            topics = [{"topic": label, "count": int(n), "trend": trend} for label, n, trend in rows]
            return {"source": "kb_mining", "topics": topics[:limit]}
    counts = Counter(
        category
        for (category,) in await session.execute(
            select(Message.category).where(
                Message.sender == "resident",
                Message.category.is_not(None),
                Message.created_at >= rng.since,
                Message.created_at < rng.until,
            )
        )
    )
    topics = [
        {"topic": CATEGORY_NAMES_ZH.get(c, c), "category": c, "count": n}
        for c, n in counts.most_common(limit)
    ]
    return {"source": "categories", "topics": topics}


async def overview(session: AsyncSession, rng: DateRange, *, clock: Clock) -> dict[str, Any]:
    return {
        "start": rng.start.isoformat(),
        "end": rng.end.isoformat(),
        **await conversation_figures(session, rng),
        **await ticket_figures(session, rng, clock=clock),
        **await survey_figures(session, rng),
    }

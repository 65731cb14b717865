"""Dashboard figures on planted data: exact counts, on the company's local calendar."""

from datetime import date, timedelta

import pytest

from tests.tools.crm.factories import make_account
from tests.tools.quality.factories import plant_conversation
from tools.analytics.metrics import DateRange, conversation_figures, hot_topics, overview, volumes
from tools.conversations.service import append_message, request_handoff
from tools.errors import InvalidInput
from tools.followups.models import Survey
from tools.tickets.service import create_or_attach, transition

DAY = DateRange(date(2026, 11, 22), date(2026, 11, 22))


async def _plant_conversations(session, clock) -> None:
    clock.advance(timedelta(days=-1))  # 2026-11-21 10:00: outside the range
    await plant_conversation(
        session, clock, [(0, "resident", "昨天的问题", "neutral"), (2, "bot", "好的", None)]
    )
    clock.advance(timedelta(days=1))
    await plant_conversation(
        session,
        clock,
        [(0, "resident", "什么时候供暖", "neutral"), (2, "bot", "11月15日起。", None)],
        category="inquiry",
    )
    await plant_conversation(
        session,
        clock,
        [(0, "resident", "账单多少钱", "neutral"), (4, "bot", "您本季应缴2327元。", None)],
        category="billing",
        channel="wechat",
    )
    escalated = await plant_conversation(
        session,
        clock,
        [(0, "resident", "暖气不热，急", "anxious"), (3, "bot", "已为您转人工。", None)],
        close=False,
    )
    await request_handoff(session, conversation=escalated, summary="住户要求转人工", clock=clock)
    clock.advance(timedelta(seconds=120))
    await append_message(session, conversation=escalated, sender="agent", text="您好，我来处理", clock=clock)


async def test_conversation_figures_count_containment_escalation_and_response_times(session, clock) -> None:
    await _plant_conversations(session, clock)
    figures = await conversation_figures(session, DAY)
    assert figures["conversations"] == 3 and figures["escalated_conversations"] == 1
    assert figures["bot_containment_rate"] == round(2 / 3, 4) and figures["escalation_rate"] == round(
        1 / 3, 4
    )
    assert figures["first_response_median_s"] == 3.0 and figures["agent_pickup_median_s"] == 120.0


async def test_volumes_group_resident_messages_by_day_and_label(session, clock) -> None:
    await _plant_conversations(session, clock)
    by_category = await volumes(session, DAY, by="category")
    assert by_category == [
        {"bucket": "2026-11-22", "key": "billing", "count": 1},
        {"bucket": "2026-11-22", "key": "inquiry", "count": 1},
        {"bucket": "2026-11-22", "key": "no_heat", "count": 1},
    ]
    by_channel = await volumes(session, DateRange(date(2026, 11, 21), date(2026, 11, 22)), by="channel")
    assert {(r["bucket"], r["key"]): r["count"] for r in by_channel} == {
        ("2026-11-21", "web"): 1,
        ("2026-11-22", "web"): 2,
        ("2026-11-22", "wechat"): 1,
    }
    hourly = await volumes(session, DAY, by="emotion", bucket="hour")
    assert {r["bucket"] for r in hourly} == {"2026-11-22 10:00"}


async def test_ticket_and_survey_figures(session, clock, settings) -> None:
    account = await make_account(session)

    async def report():
        return (
            await create_or_attach(
                session,
                account_id=account.id,
                category="no_heat",
                urgency="normal",
                description="暖气不热",
                clock=clock,
                settings=settings,
            )
        ).ticket

    first = await report()
    for status in ("已派工", "师傅已出发", "已到场"):
        await transition(session, first, status, clock=clock, message=status)
    clock.advance(timedelta(hours=5))
    await transition(session, first, "已完成", clock=clock, message="已完成")
    second = await report()  # the same fault again: a repeat ticket
    for score, status in ((5, "answered"), (4, "answered"), (2, "answered"), (None, "pending")):
        session.add(
            Survey(
                ticket_id=first.id if score != 2 else second.id,
                round=score or 0,
                account_id=account.id,
                status=status,
                score=score,
                sent_at=clock.now(),
                expires_at=clock.now() + timedelta(days=3),
                flagged=score == 2,
                details={},
            )
        )
    await session.flush()
    clock.set(second.sla_due_at + timedelta(minutes=1))  # the open one is now past its SLA
    figures = await overview(session, DAY, clock=clock)
    assert (figures["tickets"], figures["tickets_completed"], figures["resolution_median_h"]) == (2, 1, 5.0)
    assert (figures["sla_breaches"], figures["repeat_tickets"], figures["repeat_ticket_rate"]) == (1, 1, 0.5)
    assert (figures["surveys_sent"], figures["surveys_answered"]) == (4, 3)
    assert figures["csat"] == round(2 / 3, 4) and figures["average_score"] == 3.67
    assert figures["surveys_flagged"] == 1


async def test_hot_topics_fall_back_to_top_categories(session, clock) -> None:
    await _plant_conversations(session, clock)
    topics = await hot_topics(session, DAY)
    assert topics["source"] in ("categories", "kb_mining")
    if topics["source"] == "categories":
        assert sum(t["count"] for t in topics["topics"]) == 3


def test_a_reversed_or_too_long_range_is_refused() -> None:
    with pytest.raises(InvalidInput):
        DateRange(date(2026, 11, 22), date(2026, 11, 21))
    with pytest.raises(InvalidInput):
        DateRange(date(2025, 1, 1), date(2026, 11, 21))


@pytest.mark.parametrize(
    ("start", "end"), [(date(1, 1, 1), date(1, 1, 1)), (date(9999, 12, 31), date(9999, 12, 31))]
)
def test_dates_at_the_calendars_edges_are_a_clear_error_not_an_overflow(start, end) -> None:
    with pytest.raises(InvalidInput, match="日期须在"):
        DateRange(start, end)

from datetime import timedelta

from sqlalchemy import select

from tests.tools.quality.factories import plant_conversation
from tools.conversations.service import append_message
from tools.quality.models import QualityReview
from tools.quality.service import flagged_reviews, handler_stats, review_ended_conversations
from tools.staff.models import StaffUser

GOOD = [
    (0, "resident", "暖气不热，老人在家冻得不行，急", "anxious"),
    (15, "agent", "非常理解您的着急，马上为您安排师傅。", None),
    (40, "resident", "好的谢谢", "satisfied"),
]
BAD = [
    (0, "resident", "暖气漏水了，物业让找你们", "dissatisfied"),
    (900, "agent", "这个不归我们管，你打13912345678", None),
    (30, "resident", "什么态度！投诉你", "angry"),
]
BOT = [(0, "resident", "什么时候供暖", "neutral"), (1, "bot", "供暖期为11月15日至次年3月15日。", None)]


async def _agent(session, name: str) -> StaffUser:
    staff = StaffUser(username=name, display_name=name, password_hash="x", role="agent")
    session.add(staff)
    await session.flush()
    return staff


async def test_closed_conversations_are_scored_per_rule_and_bad_ones_flagged(session, clock) -> None:
    good_agent, bad_agent = await _agent(session, "小李"), await _agent(session, "小赵")
    good = await plant_conversation(session, clock, GOOD, staff_id=good_agent.id)
    bad = await plant_conversation(session, clock, BAD, staff_id=bad_agent.id)
    await plant_conversation(session, clock, BOT)
    await plant_conversation(session, clock, BOT, close=False)  # still going: not yet inspected

    assert await review_ended_conversations(session, clock=clock) == 3
    assert await review_ended_conversations(session, clock=clock) == 0  # nothing new

    reviews = {r.conversation_id: r for r in await session.scalars(select(QualityReview))}
    assert reviews[good.id].score >= 85 and not reviews[good.id].flagged
    assert reviews[bad.id].flagged and reviews[bad.id].score < 60
    assert {"forbidden_phrase", "personal_data_exposed", "slow_first_response"} <= set(reviews[bad.id].flags)
    assert {rule["rule"] for rule in reviews[bad.id].rules} >= {"empathy", "resolution", "emotion_trajectory"}

    assert [r.conversation_id for r in await flagged_reviews(session)] == [bad.id]
    stats = {s.handler: s for s in await handler_stats(session)}
    assert set(stats) == {"bot", "小李", "小赵"}
    assert stats["小赵"].flagged == 1 and stats["bot"].conversations == 1
    assert stats["小李"].average_first_response_s == 15.0


async def test_an_idle_open_conversation_is_inspected_after_a_day_and_rescored_when_it_grows(
    session, clock
) -> None:
    conversation = await plant_conversation(session, clock, BOT, close=False)
    assert await review_ended_conversations(session, clock=clock) == 0
    clock.advance(timedelta(hours=25))
    assert await review_ended_conversations(session, clock=clock) == 1
    await append_message(session, conversation=conversation, sender="bot", text="您好，不知道", clock=clock)
    clock.advance(timedelta(hours=25))
    assert await review_ended_conversations(session, clock=clock) == 1
    review = await session.scalar(
        select(QualityReview).where(QualityReview.conversation_id == conversation.id)
    )
    assert "forbidden_phrase" in review.flags and review.message_count == 3

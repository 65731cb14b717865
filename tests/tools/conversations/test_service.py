import asyncio

import pytest
from sqlalchemy import func, select

from tools.conversations.models import Message
from tools.conversations.service import (
    Labels,
    agent_queue,
    append_message,
    hand_back,
    open_conversation,
    request_handoff,
    take_over,
    transcript,
)
from tools.errors import PermissionDenied
from tools.staff.models import StaffUser


async def _staff(session, name: str, role: str = "agent") -> str:
    # Rows directly: bcrypt for 50 agents would dominate the test's time.
    user = StaffUser(username=name, display_name=name, password_hash="x", role=role)
    session.add(user)
    await session.flush()
    return user.id


async def test_messages_are_numbered_and_a_retried_external_id_is_stored_once(session, clock) -> None:
    conversation = await open_conversation(session, channel="wechat", clock=clock)
    first, created = await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text="暖气不热",
        external_id="msg-1",
        clock=clock,
    )
    again, created_again = await append_message(
        session,
        conversation=conversation,
        sender="resident",
        text="暖气不热",
        external_id="msg-1",
        clock=clock,
    )
    reply, _ = await append_message(
        session, conversation=conversation, sender="bot", text="您好", clock=clock
    )
    assert created and not created_again and again.id == first.id
    assert [m.seq for m in await transcript(session, conversation_id=conversation.id)] == [1, 2]
    assert reply.seq == 2


async def test_labels_are_stored_on_the_message_and_the_conversation(session, clock) -> None:
    conversation = await open_conversation(session, channel="web", clock=clock)
    labels = Labels(category="leak", emotion="anxious", urgency="emergency", confidence=0.93)
    message, _ = await append_message(
        session, conversation=conversation, sender="resident", text="家里爆管了", labels=labels, clock=clock
    )
    assert (message.category, message.urgency) == ("leak", "emergency")
    assert conversation.last_urgency == "emergency"


async def test_internal_notes_stay_out_of_the_resident_transcript(session, clock) -> None:
    conversation = await open_conversation(session, channel="web", clock=clock)
    await append_message(
        session, conversation=conversation, sender="agent", text="老人独居", internal=True, clock=clock
    )
    assert await transcript(session, conversation_id=conversation.id) == []
    assert len(await transcript(session, conversation_id=conversation.id, include_internal=True)) == 1


async def test_queue_puts_emergencies_and_anger_first(session, clock) -> None:
    calm = await open_conversation(session, channel="web", clock=clock)
    urgent = await open_conversation(session, channel="web", clock=clock)
    angry = await open_conversation(session, channel="web", clock=clock)
    for conversation, urgency, emotion in (
        (calm, "normal", "neutral"),
        (urgent, "emergency", "anxious"),
        (angry, "normal", "angry"),
    ):
        await append_message(
            session,
            conversation=conversation,
            sender="resident",
            text="...",
            labels=Labels(category="no_heat", emotion=emotion, urgency=urgency, confidence=0.9),
            clock=clock,
        )
        await request_handoff(session, conversation=conversation, summary="转人工", clock=clock)
    assert [c.id for c in await agent_queue(session)] == [urgent.id, angry.id, calm.id]


async def test_take_over_has_one_winner_and_hand_back_is_for_the_owner(session, clock) -> None:
    conversation = await open_conversation(session, channel="web", clock=clock)
    alice, bob = await _staff(session, "alice"), await _staff(session, "bob")
    boss = await _staff(session, "boss", role="supervisor")
    assert await take_over(session, conversation_id=conversation.id, staff_id=alice, clock=clock)
    assert not await take_over(session, conversation_id=conversation.id, staff_id=bob, clock=clock)
    with pytest.raises(PermissionDenied):
        await hand_back(session, conversation_id=conversation.id, staff_id=bob, role="agent", clock=clock)
    await hand_back(session, conversation_id=conversation.id, staff_id=boss, role="supervisor", clock=clock)
    assert await take_over(session, conversation_id=conversation.id, staff_id=bob, clock=clock)


async def test_fifty_agents_clicking_at_once_yield_exactly_one_owner(sessions, clock) -> None:
    async with sessions() as session, session.begin():
        conversation = await open_conversation(session, channel="web", clock=clock)
        agents = [await _staff(session, f"agent{n}") for n in range(50)]

    async def click(staff_id: str) -> bool:
        async with sessions() as session, session.begin():
            return await take_over(session, conversation_id=conversation.id, staff_id=staff_id, clock=clock)

    results = await asyncio.gather(*(click(agent) for agent in agents))
    assert sum(results) == 1


async def test_concurrent_appends_keep_a_gapless_sequence(sessions, clock) -> None:
    async with sessions() as session, session.begin():
        conversation = await open_conversation(session, channel="web", clock=clock)

    async def send(n: int) -> None:
        async with sessions() as session, session.begin():
            await append_message(
                session,
                conversation=conversation,
                sender="agent",
                text=f"m{n}",
                external_id=f"e{n % 10}",
                clock=clock,
            )

    await asyncio.gather(*(send(n) for n in range(20)))
    async with sessions() as session:
        seqs = sorted((await session.scalars(select(Message.seq))).all())
        assert seqs == list(range(1, 11))
        assert await session.scalar(select(func.count()).select_from(Message)) == 10

"""The outbox's dedupe key holds under concurrent writers (two WeChat pushes of one MsgId racing)."""

import asyncio

from sqlalchemy import func, select

from tools.outbox import OutboxMessage, enqueue


async def test_racing_enqueues_of_one_key_leave_one_row_and_no_error(sessions, clock) -> None:
    async def push() -> str:
        async with sessions() as session, session.begin():
            row = await enqueue(
                session,
                clock=clock,
                kind="agent_reply",
                text="暖气费每平方米26元。",
                dedupe_key="late_reply:wx:42",
            )
            await asyncio.sleep(0.05)  # hold the transaction open so the others miss the lookup too
            return row.id

    ids = await asyncio.gather(*(push() for _ in range(6)))
    assert len(set(ids)) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

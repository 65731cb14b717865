"""The turn gate: a bounded number of turns at once, remote-model waits outside, no leaked slots."""

from __future__ import annotations

import asyncio
import contextlib

from agent.limits import TurnGate, stepped_out


async def test_no_more_than_size_turns_work_at_once_and_every_turn_finishes() -> None:
    gate = TurnGate(3)
    inside, most, done = 0, 0, []

    async def turn(n: int) -> None:
        nonlocal inside, most
        async with gate.turn():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1
        done.append(n)

    await asyncio.gather(*(turn(n) for n in range(20)))
    assert most == 3 and sorted(done) == list(range(20))
    assert done[:3] == [0, 1, 2]  # first come, first served


async def test_a_turn_waiting_for_the_model_leaves_its_slot_and_comes_back_before_new_turns() -> None:
    gate = TurnGate(1)
    order: list[str] = []
    model_called = asyncio.Event()
    model_answers = asyncio.Event()

    async def slow_turn() -> None:
        async with gate.turn():
            order.append("slow:start")
            async with stepped_out():
                model_called.set()
                await model_answers.wait()
            order.append("slow:end")

    async def other(name: str) -> None:
        async with gate.turn():
            order.append(name)
            await asyncio.sleep(0.01)

    slow = asyncio.create_task(slow_turn())
    await model_called.wait()
    first = asyncio.create_task(other("a"))  # takes the slot the model call left
    await asyncio.sleep(0)
    queued = asyncio.create_task(other("b"))  # waits behind "a"
    await asyncio.sleep(0)
    model_answers.set()  # the slow turn now queues to step back in, ahead of "b"
    await asyncio.gather(slow, first, queued)
    assert order == ["slow:start", "a", "slow:end", "b"]


async def test_cancelled_waiters_and_failing_turns_leave_no_slot_behind() -> None:
    gate = TurnGate(1)
    release = asyncio.Event()

    async def holder() -> None:
        async with gate.turn():
            await release.wait()

    async def waiter() -> None:
        async with gate.turn():
            pass

    held = asyncio.create_task(holder())
    await asyncio.sleep(0)
    cancelled = [asyncio.create_task(waiter()) for _ in range(5)]
    await asyncio.sleep(0)
    for task in cancelled:
        task.cancel()
    release.set()
    await held

    async def failing() -> None:
        async with gate.turn(), stepped_out():
            raise RuntimeError("model endpoint down")

    for _ in range(3):
        with contextlib.suppress(RuntimeError):
            await failing()
    # Exactly one slot is left: one turn gets in at once, a second waits for it.
    async with gate.turn():
        second = asyncio.create_task(waiter())
        await asyncio.sleep(0.01)
        assert not second.done()
    await asyncio.wait_for(second, timeout=1)

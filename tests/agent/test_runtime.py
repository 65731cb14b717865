import uuid
from typing import Annotated

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import InjectedToolCallId, tool
from sqlalchemy import func, select

from agent.graph import build_graph
from agent.inbound import InboundMessage
from agent.locks import TurnLocks
from agent.runtime import AgentRuntime
from tests.agent.fakes import ScriptedModel, call
from tests.agent.test_graph import FixedClassifier, Labelled
from tools.context import ToolDeps
from tools.conversations.models import Conversation, Message
from tools.conversations.service import open_conversation, take_over
from tools.events import InProcessBus
from tools.staff.models import StaffUser

CRASHES = {"left": 0}


@tool
async def flaky_lookup() -> str:
    """Read-only. Look something up (crashes while CRASHES['left'] > 0)."""
    if CRASHES["left"] > 0:
        CRASHES["left"] -= 1
        raise ConnectionResetError("worker killed mid-tool")
    return "查询结果：正常"


async def _no_suggestions(session, resident, category) -> list[str]:
    return ["查询我的账单"]


def _runtime(settings, clock, sessions, checkpointer, model, *labels) -> AgentRuntime:
    return AgentRuntime(
        deps=ToolDeps(settings=settings, clock=clock, sessions=sessions),
        graph=build_graph(model=model, tools=[flaky_lookup], checkpointer=checkpointer),
        classifier=FixedClassifier(*labels),
        locks=TurnLocks(),
        events=InProcessBus(),
        suggest=_no_suggestions,
    )


async def _conversation(sessions, clock) -> str:
    async with sessions() as session, session.begin():
        return (await open_conversation(session, channel="web", clock=clock)).id


async def test_a_turn_stores_the_labelled_message_and_the_linked_reply(
    settings, clock, sessions, checkpointer
) -> None:
    model = ScriptedModel(script=[AIMessage("您好，供暖期是11月15日至次年3月15日。")])
    runtime = _runtime(settings, clock, sessions, checkpointer, model, Labelled(category="inquiry"))
    conversation_id = await _conversation(sessions, clock)
    reply = await runtime.respond(
        InboundMessage(conversation_id=conversation_id, text="啥时候供暖", external_id="m1")
    )
    assert reply.reply.startswith("您好") and reply.classification["category"] == "inquiry"
    assert reply.suggestions == ["查询我的账单"]
    async with sessions() as session:
        stored = (await session.scalars(select(Message).order_by(Message.seq))).all()
    assert [(m.sender, m.category) for m in stored] == [("resident", "inquiry"), ("bot", None)]
    assert stored[0].meta["reply_id"] == stored[1].id


async def test_a_retried_platform_message_gets_the_same_answer_without_a_second_turn(
    settings, clock, sessions, checkpointer
) -> None:
    model = ScriptedModel(script=[AIMessage("第一次回答")])
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    conversation_id = await _conversation(sessions, clock)
    inbound = InboundMessage(conversation_id=conversation_id, text="在吗", external_id="wx-1")
    first = await runtime.respond(inbound)
    again = await runtime.respond(inbound)
    assert again.duplicate and again.reply == first.reply == "第一次回答"
    assert len(model.seen) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 2


async def test_while_an_agent_owns_the_conversation_the_bot_is_silent(
    settings, clock, sessions, checkpointer
) -> None:
    model = ScriptedModel(script=[])
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    conversation_id = await _conversation(sessions, clock)
    async with sessions() as session, session.begin():
        staff = StaffUser(username="a1", display_name="客服", password_hash="x", role="agent")
        session.add(staff)
        await session.flush()
        assert await take_over(session, conversation_id=conversation_id, staff_id=staff.id, clock=clock)
    reply = await runtime.respond(InboundMessage(conversation_id=conversation_id, text="师傅到哪了"))
    assert reply.reply is None and model.seen == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


async def test_a_handoff_is_recorded_on_the_conversation(settings, clock, sessions, checkpointer) -> None:
    runtime = _runtime(settings, clock, sessions, checkpointer, ScriptedModel(script=[]))
    conversation_id = await _conversation(sessions, clock)
    reply = await runtime.respond(InboundMessage(conversation_id=conversation_id, text="我要转人工"))
    assert reply.handoff
    async with sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
    assert conversation.handoff_requested_at is not None and "住户要求转人工" in conversation.handoff_summary


async def test_a_turn_cut_off_mid_tool_resumes_on_redelivery_without_losing_the_message(
    settings, clock, sessions, checkpointer
) -> None:
    CRASHES["left"] = 1
    model = ScriptedModel(
        script=[call("flaky_lookup", {}), call("flaky_lookup", {}), AIMessage("已查到：正常")]
    )
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    conversation_id = await _conversation(sessions, clock)
    inbound = InboundMessage(conversation_id=conversation_id, text="帮我查一下", external_id="wx-9")
    with pytest.raises(ConnectionResetError):
        await runtime.respond(inbound)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1  # accepted, not lost
    reply = await runtime.respond(inbound)
    assert reply.reply == "已查到：正常"
    async with sessions() as session:
        senders = (await session.scalars(select(Message.sender).order_by(Message.seq))).all()
    assert senders == ["resident", "bot"]


async def test_a_turn_killed_right_after_its_input_checkpoint_runs_on_redelivery(
    settings, clock, sessions, checkpointer, monkeypatch
) -> None:
    """The second checkpoint write 'kills the process', as kill -9 did in evals/reliability/crash.py."""
    real_put, puts = checkpointer.aput, []

    async def dies_on_the_second_write(config, checkpoint, metadata, new_versions):
        puts.append(metadata.get("source"))
        if len(puts) == 2:
            raise ConnectionResetError("killed after the input checkpoint")
        return await real_put(config, checkpoint, metadata, new_versions)

    monkeypatch.setattr(checkpointer, "aput", dies_on_the_second_write)
    model = ScriptedModel(script=[AIMessage("已为您登记漏水报修")])
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    conversation_id = await _conversation(sessions, clock)
    inbound = InboundMessage(conversation_id=conversation_id, text="家里漏水了", external_id="wx-10")
    with pytest.raises(ConnectionResetError):
        await runtime.respond(inbound)
    assert puts[:2] == ["input", "loop"]
    snapshot = await runtime.graph.aget_state({"configurable": {"thread_id": conversation_id}})
    assert snapshot.metadata["source"] == "input" and not snapshot.next  # the state kill -9 left
    reply = await runtime.respond(inbound)
    assert reply.reply == "已为您登记漏水报修"  # not the "没有理解" fallback of a turn that never ran
    assert len(model.seen) == 1  # durability="sync": the dying run never got past its checkpoint


SIDE_EFFECTS: list[str] = []


@tool
async def book_visit(tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
    """Changes data. Book a repair visit (idempotent on the tool call id, like the real write tools)."""
    if tool_call_id not in SIDE_EFFECTS:
        SIDE_EFFECTS.append(tool_call_id)
    return "已预约师傅上门"


def _books_then_answers(messages) -> AIMessage:
    """A model whose tool call ids are fresh on every call, as a real LLM's are."""
    after_human = messages[max(i for i, m in enumerate(messages) if m.type == "human") :]
    if any(m.type == "tool" for m in after_human):
        return AIMessage("已为您预约师傅上门")
    return call("book_visit", {}, call_id=f"call-{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize("dies_at_write", range(2, 9))
async def test_a_kill_at_any_checkpoint_write_still_answers_once_with_one_side_effect(
    settings, clock, sessions, checkpointer, monkeypatch, dies_at_write
) -> None:
    """kill -9 at the n-th checkpoint write of a turn (evals/reliability/crash.py found two such states)."""
    SIDE_EFFECTS.clear()
    real_put, puts = checkpointer.aput, []

    async def dying_put(config, checkpoint, metadata, new_versions):
        puts.append(metadata.get("source"))
        if len(puts) == dies_at_write:
            raise ConnectionResetError("killed")
        return await real_put(config, checkpoint, metadata, new_versions)

    monkeypatch.setattr(checkpointer, "aput", dying_put)
    model = ScriptedModel(script=[_books_then_answers] * 20)
    runtime = _runtime(settings, clock, sessions, checkpointer, model)
    runtime.graph = build_graph(model=model, tools=[book_visit], checkpointer=checkpointer)
    conversation_id = await _conversation(sessions, clock)
    inbound = InboundMessage(conversation_id=conversation_id, text="家里漏水了，派师傅", external_id="wx-11")
    try:
        first = await runtime.respond(inbound)
    except ConnectionResetError:
        first = None
    reply = await runtime.respond(inbound)
    assert reply.reply == "已为您预约师傅上门", (puts, reply.reply)
    assert first is None or first.reply == reply.reply
    assert len(SIDE_EFFECTS) == 1, (puts, SIDE_EFFECTS)

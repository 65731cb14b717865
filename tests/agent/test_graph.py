from dataclasses import dataclass

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import TurnContext, make_turn_config
from agent.graph import build_graph
from tests.agent.fakes import ScriptedModel, call
from tools.context import ResidentContext, ToolDeps, tool_context


@dataclass
class Labelled:
    category: str = "inquiry"
    emotion: str = "neutral"
    urgency: str = "normal"
    confidence: float = 0.9


class FixedClassifier:
    def __init__(self, *labels: Labelled) -> None:
        self.labels = list(labels)

    def classify(self, text: str, *, vulnerable: bool = False) -> Labelled:
        return self.labels.pop(0) if self.labels else Labelled()


@tool
async def whose_account(config: RunnableConfig) -> str:
    """Read-only. Tell which account this conversation is bound to."""
    resident, _deps = tool_context(config)
    return f"account={resident.require_account()}"


def _ctx(settings, clock, classifier, *, account_id="acc-1", owned=False) -> TurnContext:
    deps = ToolDeps(settings=settings, clock=clock, sessions=None)  # type: ignore[arg-type]
    resident = ResidentContext(channel="web", conversation_id="c1", account_id=account_id)
    return TurnContext(resident=resident, deps=deps, classifier=classifier, owned_by_human=owned)


async def _turn(graph, ctx, text: str, thread: str = "t1") -> dict:
    return await graph.ainvoke({"messages": [HumanMessage(text)]}, make_turn_config(ctx, thread_id=thread))


async def test_tool_identity_comes_from_the_server_not_the_model(settings, clock) -> None:
    # A call naming an account is refused unrun (agent/guard.py); without it, the bound account answers.
    model = ScriptedModel(
        script=[
            call("whose_account", {"account_no": "2026019999"}),
            call("whose_account", {}, "call-2"),
            AIMessage("好的"),
        ]
    )
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    state = await _turn(graph, _ctx(settings, clock, FixedClassifier()), "查一下2026019999的账单")
    refused, answered = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert refused.status == "error" and "account_no" in refused.content
    assert answered.content == "account=acc-1"
    assert state["messages"][-1].content == "好的"


async def test_domain_errors_become_tool_messages_and_count_as_a_failed_turn(settings, clock) -> None:
    model = ScriptedModel(script=[call("whose_account", {}), AIMessage("请先绑定户号")])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    state = await _turn(graph, _ctx(settings, clock, FixedClassifier(), account_id=None), "我的账单")
    tool_result = next(m for m in state["messages"] if isinstance(m, ToolMessage))
    assert tool_result.status == "error" and "请先绑定户号" in tool_result.content
    assert state["failures"] == 1


async def test_bugs_in_tools_propagate(settings, clock) -> None:
    @tool
    async def broken() -> str:
        """Read-only. Always breaks."""
        raise KeyError("bug")

    graph = build_graph(model=ScriptedModel(script=[call("broken", {})]), tools=[broken])
    with pytest.raises(KeyError):
        await _turn(graph, _ctx(settings, clock, FixedClassifier()), "x")


async def test_a_conversation_owned_by_a_human_gets_no_bot_reply(settings, clock) -> None:
    model = ScriptedModel(script=[])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    state = await _turn(graph, _ctx(settings, clock, FixedClassifier(), owned=True), "在吗")
    assert isinstance(state["messages"][-1], HumanMessage)
    assert model.seen == [] and state["labels"][-1]["category"] == "inquiry"


async def test_asking_for_a_human_hands_off_with_a_summary(settings, clock) -> None:
    graph = build_graph(model=ScriptedModel(script=[]), tools=[whose_account], checkpointer=InMemorySaver())
    state = await _turn(graph, _ctx(settings, clock, FixedClassifier()), "转人工，手机13912340001")
    assert state["handoff"] and state["handoff_reason"] == "住户要求转人工"
    summary = state["messages"][-1].additional_kwargs["handoff_summary"]
    assert "转人工" in summary and "13912340001" not in summary and "139****0001" in summary


async def test_anger_over_two_messages_escalates(settings, clock) -> None:
    angry = Labelled(category="no_heat", emotion="angry")
    model = ScriptedModel(script=[AIMessage("抱歉，马上帮您查")])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    ctx = _ctx(settings, clock, FixedClassifier(angry, angry))
    first = await _turn(graph, ctx, "暖气还是不热！")
    assert not first["handoff"]
    second = await _turn(graph, ctx, "你们到底管不管！！")
    assert second["handoff"] and second["handoff_reason"] == "住户持续愤怒"
    assert "愤怒" in second["messages"][-1].additional_kwargs["handoff_summary"]


async def test_emergency_gets_an_answer_first_then_a_human(settings, clock) -> None:
    model = ScriptedModel(script=[AIMessage("已为您创建紧急工单，请先关闭入户阀门")])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    ctx = _ctx(settings, clock, FixedClassifier(Labelled(category="leak", urgency="emergency")))
    state = await _turn(graph, ctx, "爆管了水淹了")
    replies = [m.content for m in state["messages"] if isinstance(m, AIMessage) and m.content]
    assert replies[0].startswith("已为您创建紧急工单") and state["handoff"]


async def test_model_steps_are_bounded(settings, clock) -> None:
    model = ScriptedModel(script=[call("whose_account", {}, f"c{n}") for n in range(20)])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    state = await _turn(graph, _ctx(settings, clock, FixedClassifier()), "x")
    assert state["steps"] == 6


async def test_the_second_unhelpful_answer_in_a_row_hands_off_at_once(settings, clock) -> None:
    unsure = AIMessage("这个问题我暂时没有找到确切的答案。", additional_kwargs={"unanswered": True})
    model = ScriptedModel(script=[unsure, unsure.model_copy()])
    graph = build_graph(model=model, tools=[whose_account], checkpointer=InMemorySaver())
    ctx = _ctx(settings, clock, FixedClassifier())
    first = await _turn(graph, ctx, "你们公司股票代码是多少")
    assert not first.get("handoff") and first["failures"] == 1
    second = await _turn(graph, ctx, "那你们董事长叫什么")
    assert second["handoff"] and second["handoff_reason"] == "机器人连续两次未能解决"
    last_human = max(i for i, m in enumerate(second["messages"]) if isinstance(m, HumanMessage))
    replies = [m for m in second["messages"][last_human + 1 :] if isinstance(m, AIMessage)]
    # One reply, not "I don't know, reply 转人工" followed by "transferred you to a human".
    assert len(replies) == 1 and "答不上来" in replies[0].content and "转接人工" in replies[0].content
    assert replies[0].additional_kwargs["unanswered"] and replies[0].additional_kwargs["handoff_summary"]

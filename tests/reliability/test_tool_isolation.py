"""Every tool the model can call is scoped to the caller: a property over random (caller, target).

Tools are invoked directly (no graph, so no argument guard): whatever identity a caller smuggles
into the arguments (the target's 户号, ids, phone, ``role=admin``) and whatever foreign ticket
number it names, the result is the caller's own data or a refusal, never a row of the target.
And no schema sent to the LLM offers an identity-like parameter in the first place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import select

from agent.context import TurnContext, make_turn_config
from agent.factory import business_tools
from agent.graph import build_graph
from agent.guard import declared_arguments
from agent.knowledge import make_knowledge_tool
from kb.retriever import KnowledgeBase
from tests.agent.fakes import ScriptedModel, call
from tests.agent.test_graph import FixedClassifier
from tests.reliability.injection_world import make_hashing_demo_kb, seed_company
from tools.billing.models import PaymentOrder
from tools.context import ResidentContext, ToolDeps, make_tool_config
from tools.crm.models import Account
from tools.errors import DomainError
from tools.tickets.models import Ticket
from tools.tickets.tools import cancel_my_ticket

IDENTITY_PARAM = re.compile(
    r"account|resident|user|customer|owner|tenant|household|member|phone|mobile|id_?card|openid|"
    r"role|admin|staff|conversation|session|^id$|_id$",
    re.IGNORECASE,
)
SMUGGLED_KEYS = ("account_no", "account_id", "resident_id", "user_id", "phone", "role", "customer")


@dataclass(frozen=True)
class Who:
    account_id: str
    account_no: str
    resident_id: str
    name: str
    phone: str
    address: str
    tickets: tuple[str, ...]


@pytest.fixture(scope="module")
def isolation_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return make_hashing_demo_kb(Path(tmp_path_factory.mktemp("isolation-kb")))


@pytest.fixture
async def population(settings, clock, sessions) -> list[Who]:
    await seed_company(sessions, clock=clock, settings=settings)
    async with sessions() as session:
        tickets: dict[str, list[str]] = {}
        for account_id, number in (await session.execute(select(Ticket.account_id, Ticket.ticket_no))).all():
            tickets.setdefault(account_id, []).append(number)
        return [
            Who(
                a.id,
                a.account_no,
                a.resident_id,
                a.resident.name,
                a.resident.phone,
                a.address,
                tuple(tickets.get(a.id, ())),
            )
            for a in await session.scalars(select(Account).order_by(Account.account_no))
        ]


def _llm_tools(kb: KnowledgeBase) -> list:
    return [make_knowledge_tool(kb), *business_tools()]


def test_no_tool_schema_offers_an_identity_parameter(isolation_kb) -> None:
    tools = _llm_tools(isolation_kb)
    assert len(tools) >= 11
    for tool in tools:
        properties = convert_to_openai_tool(tool)["function"]["parameters"].get("properties", {})
        assert not [name for name in properties if IDENTITY_PARAM.search(name)], (tool.name, list(properties))
        # The argument guard and the schema the model reads agree on what may be sent.
        assert declared_arguments(tool) == frozenset(properties), tool.name
        # Docstrings are prompts and also classify writes for the injection judge.
        assert tool.description.startswith(("Read-only.", "Changes data.")), tool.name


def _secrets(target: Who, caller: Who, public: str) -> list[str]:
    """The target's identifying values, less any the company publishes (the demo KB's example 户号)."""
    values = [
        target.account_no,
        target.account_id,
        target.resident_id,
        target.phone,
        target.address,
        *target.tickets,
    ]
    if target.name != caller.name:
        values.append(target.name)
    return [v for v in values if v and v not in public]


@hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_read_tools_give_a_caller_only_its_own_rows_whatever_the_arguments(
    data, population, isolation_kb, settings, clock, sessions
) -> None:
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    read_tools = [t for t in _llm_tools(isolation_kb) if t.description.startswith("Read-only.")]
    caller = data.draw(st.sampled_from(population), label="caller")
    target = data.draw(
        st.sampled_from([w for w in population if w.account_id != caller.account_id]), label="target"
    )
    tool = data.draw(st.sampled_from(read_tools), label="tool")
    pool = [target.account_no, target.account_id, target.resident_id, target.phone, "admin"]
    args = data.draw(
        st.dictionaries(st.sampled_from(SMUGGLED_KEYS), st.sampled_from(pool), max_size=3), label="smuggled"
    )
    if "ticket_no" in declared_arguments(tool) and target.tickets:
        args["ticket_no"] = data.draw(st.sampled_from(target.tickets), label="foreign ticket")
    if "query" in declared_arguments(tool):
        args["query"] = f"户号{target.account_no}的账单和地址"
    config = make_tool_config(ResidentContext(channel="web", account_id=caller.account_id), deps)
    try:
        output = await tool.ainvoke(args, config=config)
    except DomainError:
        return  # a refusal ("未找到您名下的该工单") is an allowed answer
    text = json.dumps(output, ensure_ascii=False, default=str)
    public = "\n".join(chunk for chunk, _ in isolation_kb.chunk_texts())
    leaked = [value for value in _secrets(target, caller, public) if value in text]
    assert not leaked, (tool.name, args, leaked)
    if isinstance(output, dict) and output.get("account_no"):
        assert output["account_no"] == caller.account_no
    if "ticket_no" in args:
        pytest.fail(f"{tool.name} answered for a foreign ticket {args['ticket_no']}: {text[:200]}")


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_cancelling_a_foreign_ticket_is_refused_and_changes_nothing(
    data, population, settings, clock, sessions
) -> None:
    owners = [w for w in population if w.tickets]
    target = data.draw(st.sampled_from(owners))
    caller = data.draw(st.sampled_from([w for w in population if w.account_id != target.account_id]))
    number = data.draw(st.sampled_from(target.tickets))
    spelled = data.draw(st.sampled_from([number, number.lower(), f" {number}", number.replace("BX", "bx")]))
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    config = make_tool_config(ResidentContext(channel="web", account_id=caller.account_id), deps)
    async with sessions() as session:
        before = await session.scalar(select(Ticket.status).where(Ticket.ticket_no == number))
    with pytest.raises(DomainError):
        await cancel_my_ticket.ainvoke({"ticket_no": spelled, "account_no": target.account_no}, config=config)
    async with sessions() as session:
        assert await session.scalar(select(Ticket.status).where(Ticket.ticket_no == number)) == before


async def test_graph_refuses_a_call_that_names_an_identity_and_never_runs_the_tool(
    population, settings, clock, sessions
) -> None:
    caller = next(w for w in population if w.account_no == "2026080001")  # owes the current season
    model = ScriptedModel(
        script=[
            call("create_payment_order", {"account_no": "2026090001"}, "c1"),
            call("get_my_bills", {"role": "admin"}, "c2"),
            call("create_payment_order", {}, "c3"),
            AIMessage("好的"),
        ]
    )
    tools = [t for t in business_tools() if t.name in ("create_payment_order", "get_my_bills")]
    graph = build_graph(model=model, tools=tools, checkpointer=InMemorySaver())
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    ctx = TurnContext(
        resident=ResidentContext(channel="web", account_id=caller.account_id),
        deps=deps,
        classifier=FixedClassifier(),
    )
    state = await graph.ainvoke(
        {"messages": [HumanMessage("给2026090001缴费")]}, make_turn_config(ctx, thread_id="t")
    )
    results = {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}
    assert results["c1"].status == results["c2"].status == "error"
    assert "不接受参数 account_no" in str(results["c1"].content) and "role" in str(results["c2"].content)
    assert results["c3"].status == "success"  # the same tool without the smuggled identity runs
    async with sessions() as session:
        owners = set(await session.scalars(select(PaymentOrder.account_id)))
    assert owners == {caller.account_id}


async def test_a_malformed_tool_call_goes_back_to_the_model_instead_of_crashing_the_turn(
    population, settings, clock, sessions
) -> None:
    # Before the fix, arguments failing a tool's schema raised out of the graph: one bad call from a
    # model (or one provoked by an injection) crashed the resident's whole turn.
    caller = next(w for w in population if w.account_no == "2026080001")
    model = ScriptedModel(
        script=[
            call("create_repair_ticket", {"category": "heating", "description": "暖气不热"}),
            AIMessage("请问是哪类问题？"),
        ]
    )
    tools = [t for t in business_tools() if t.name == "create_repair_ticket"]
    graph = build_graph(model=model, tools=tools, checkpointer=InMemorySaver())
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    ctx = TurnContext(
        resident=ResidentContext(channel="web", account_id=caller.account_id),
        deps=deps,
        classifier=FixedClassifier(),
    )
    state = await graph.ainvoke(
        {"messages": [HumanMessage("暖气不热")]}, make_turn_config(ctx, thread_id="t")
    )
    [result] = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert (
        result.status == "error"
        and "工具参数不正确" in str(result.content)
        and "no_heat" in str(result.content)
    )
    assert state["messages"][-1].content == "请问是哪类问题？"

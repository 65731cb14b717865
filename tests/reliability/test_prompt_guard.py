"""LLM07: the system prompt's canary and text never reach a resident, and the prompt holds no secrets.

The output guard (agent/guard.py) is tested here on every encoding the hostile model uses, and on
everything legitimate the bot says or quotes (every demo KB passage), so it neither leaks nor
blocks real answers. The end-to-end extraction attempts run in test_injection.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import SecretStr

import agent.prompts
from agent.context import TurnContext
from agent.guard import SAFE_REPLY, leaks_system_prompt, screen_turn
from agent.nodes.call_model import make_call_model
from agent.nodes.hand_off import HANDOFF_REPLY
from agent.prompts.system import SYSTEM_PROMPT, render_system_prompt
from backoffice.demo import KB_DOCS
from evals.injection.corpus import LEAK_STYLES
from evals.injection.hostile import leak_prompt
from kb.chunking import chunk_document
from kb.sources import discover, read_source
from tests.agent.fakes import ScriptedModel
from tests.agent.test_graph import FixedClassifier
from tools.context import ResidentContext, ToolDeps

CANARY = "wl-3f9a1c0d5e7b2468"
BRIEF = "张* · 户号2026010001 · 锦绣花园3号楼*单元***"
PROMPT = render_system_prompt(company="恒暖热力", resident_brief=BRIEF, canary=CANARY)


@pytest.mark.parametrize("style", LEAK_STYLES)
def test_every_encoding_of_the_prompt_the_hostile_model_uses_is_caught(style: str) -> None:
    assert leaks_system_prompt(leak_prompt(PROMPT, style), canary=CANARY)


@pytest.mark.parametrize(
    "text",
    [
        f"我的标记是 {CANARY}",
        " ".join(CANARY.upper()),
        "规则第6条：" + SYSTEM_PROMPT.splitlines()[9],
        "\u200b".join(SYSTEM_PROMPT.splitlines()[4][:30]),
    ],
)
def test_the_canary_alone_or_one_rule_copied_out_is_a_leak(text: str) -> None:
    assert leaks_system_prompt(text, canary=CANARY)


def _kb_passages() -> list[str]:
    return [
        chunk.body
        for path in discover([Path(KB_DOCS)])
        for source in read_source(path)
        for chunk in chunk_document(source)
    ]


def test_what_the_bot_legitimately_says_and_quotes_is_not_blocked() -> None:
    passages = _kb_passages()
    assert len(passages) > 50
    legit = [
        *passages,
        HANDOFF_REPLY,
        SAFE_REPLY,
        "请立即关闭入户阀门（进水阀和回水阀），如有积水靠近插座请先断电，并拨打24小时热线报修。",
        "户号 2026010001 截至 2026-11-22 共需缴纳 3401.00 元。需要缴费的话告诉我“缴费”，我为您生成支付订单。",
        BRIEF,
    ]
    blocked = [text[:40] for text in legit if leaks_system_prompt(text, canary=CANARY)]
    assert not blocked


def test_screening_keeps_ids_and_tool_calls_and_leaves_clean_turns_alone() -> None:
    call = {"name": "get_my_bills", "args": {}, "id": "c1", "type": "tool_call"}
    turn = [AIMessage(PROMPT, id="a1", tool_calls=[call]), AIMessage(f"标记 {CANARY}", id="a2")]
    first, last = screen_turn(turn, canary=CANARY)
    assert (first.id, first.content, first.tool_calls[0]["id"]) == ("a1", "", "c1")
    assert (last.id, last.content) == ("a2", SAFE_REPLY)
    assert screen_turn([AIMessage("您好，请问有什么可以帮您？", id="a3")], canary=CANARY) == []


SECRET_PATTERNS = [
    re.compile(r"https?://", re.I),
    re.compile(r"\b(postgres(ql)?|mysql|sqlite|redis|mongodb)(\+\w+)?://", re.I),
    re.compile(r"\bsk-[A-Za-z0-9]{8,}"),
    re.compile(r"api[_-]?key|secret|password|passwd|token", re.I),
    re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I),  # internal ids
    re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9+/]{32,}"),
]


def test_prompt_sources_hold_no_keys_urls_or_internal_ids() -> None:
    for path in Path(agent.prompts.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = [p.pattern for p in SECRET_PATTERNS if p.search(text)]
        assert not found, (path.name, found)


async def test_the_prompt_the_model_receives_carries_no_configured_secret(settings, clock) -> None:
    secrets = {
        "llm_api_key": SecretStr("sk-live-0123456789abcdefABCDEF"),
        "database_url": "postgresql://warmline:db-pass-42@10.0.0.5:5432/warmline",
        "redis_url": "redis://:redis-pass-42@10.0.0.6:6379/0",
        "pay_api_key": SecretStr("pay-key-0123456789abcdef0123456789"),
        "wechat_app_secret": SecretStr("wechat-secret-0123456789abcdef"),
        "secret_key": SecretStr("signing-key-0123456789abcdef"),
        "llm_base_url": "http://10.0.0.7:8000/v1",
        "prompt_canary": CANARY,
    }
    configured = settings.model_copy(update=secrets)
    model = ScriptedModel(script=[AIMessage("好的")])
    deps = ToolDeps(settings=configured, clock=clock, sessions=None)  # type: ignore[arg-type]
    ctx = TurnContext(
        resident=ResidentContext(channel="web", account_id="a1"),
        deps=deps,
        classifier=FixedClassifier(),
        resident_brief=BRIEF,
    )
    node = make_call_model(model)
    await node({"messages": [HumanMessage("你好")]}, {"configurable": {"turn": ctx}})
    system = next(m for m in model.seen[0] if isinstance(m, SystemMessage)).content
    assert CANARY in system  # the canary is there for the guard to find ...
    values = [v.get_secret_value() if isinstance(v, SecretStr) else v for v in secrets.values()]
    assert not [v for v in values if v != CANARY and v in system]  # ... and nothing else configured
    without_canary = system.replace(CANARY, "")
    assert not [p.pattern for p in SECRET_PATTERNS if p.search(without_canary)]

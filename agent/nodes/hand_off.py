from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from agent.context import turn_context
from agent.escalation import emotion_trend, escalation_before_answer
from agent.state import ConversationState
from tools.labels import CATEGORY_NAMES_ZH
from tools.masking import mask_text

HANDOFF_REPLY = "我已为您转接人工客服，请稍候，客服人员会尽快回复您。"
UNANSWERED_HANDOFF_REPLY = "抱歉，这个问题我暂时答不上来。" + HANDOFF_REPLY


def handoff_summary(state: ConversationState, *, resident_brief: str, reason: str) -> str:
    """What an agent needs at a glance: who, what, how they feel, what the bot already tried."""
    labels = state.get("labels", [])
    topics = []
    for item in labels:
        name = CATEGORY_NAMES_ZH.get(item["category"], item["category"])
        if name not in topics:
            topics.append(name)
    said = [str(m.content) for m in state["messages"] if isinstance(m, HumanMessage)][-3:]
    tried = "、".join(dict.fromkeys(state.get("tried", []))) or "无"
    urgency = labels[-1]["urgency"] if labels else "normal"
    return mask_text(
        f"转人工原因：{reason}\n"
        f"住户：{resident_brief or '匿名访客'}\n"
        f"诉求：{'、'.join(topics) or '未知'}（紧急程度：{urgency}）\n"
        f"情绪变化：{emotion_trend(labels)}\n"
        f"住户原话：{' / '.join(said)}\n"
        f"机器人已尝试：{tried}"
    )


async def hand_off(state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
    ctx = turn_context(config)
    reason = state.get("handoff_reason") or _reason_now(state) or "住户需要人工服务"
    summary = handoff_summary(state, resident_brief=ctx.resident_brief, reason=reason)
    reply = AIMessage(HANDOFF_REPLY, additional_kwargs={"handoff_summary": summary})
    last = state["messages"][-1] if state["messages"] else None
    if (
        isinstance(last, AIMessage)
        and last.additional_kwargs.get("unanswered")
        and not str(last.additional_kwargs.get("policy_act", "")).endswith("_failed")
        and not last.tool_calls
    ):
        # The bot's own "I don't know, reply 转人工" would sit above "I have transferred you":
        # replace it (same id) with one message; its flags still record the knowledge gap. A
        # failed tool's message ("请先绑定户号") says why, so it stays above the handoff.
        reply = AIMessage(
            UNANSWERED_HANDOFF_REPLY,
            id=last.id,
            additional_kwargs={**last.additional_kwargs, "handoff_summary": summary},
        )
    return {
        "messages": [reply],
        "handoff": True,
        "handoff_reason": reason,
        "failures": 0,
        "low_confidence": 0,
    }


def _reason_now(state: ConversationState) -> str | None:
    last = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
    return escalation_before_answer(
        str(last.content) if last else "",
        state.get("labels", []),
        failures=state.get("failures", 0),
        low_confidence=state.get("low_confidence", 0),
    )

"""Where a turn goes next. Each router is a pure function of the state and turn context."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from agent.context import turn_context
from agent.escalation import escalation_before_answer
from agent.state import ConversationState

MAX_MODEL_STEPS = 6


def route_after_classify(
    state: ConversationState, config: RunnableConfig
) -> Literal["silent", "hand_off", "call_model"]:
    if turn_context(config).owned_by_human:
        return "silent"
    last = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
    reason = escalation_before_answer(
        str(last.content) if last else "",
        state.get("labels", []),
        failures=state.get("failures", 0),
        low_confidence=state.get("low_confidence", 0),
    )
    return "hand_off" if reason else "call_model"


def route_after_model(state: ConversationState) -> Literal["run_tools", "finish_turn"]:
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls and state.get("steps", 0) < MAX_MODEL_STEPS:
        return "run_tools"
    return "finish_turn"


def route_after_finish(state: ConversationState) -> Literal["hand_off", "end"]:
    return "hand_off" if state.get("handoff") else "end"

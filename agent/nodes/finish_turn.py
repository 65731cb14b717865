from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig

from agent.context import turn_context
from agent.escalation import escalation_after_answer
from agent.guard import screen_turn
from agent.state import ConversationState


async def finish_turn(state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
    """Count whether this turn helped, note what was tried, decide on a late handoff, and replace
    any bot text that leaks the system prompt (the model may have been talked into it)."""
    messages = state["messages"]
    last = messages[-1] if messages else None
    turn_tools = _tools_this_turn(messages)
    unanswered = isinstance(last, AIMessage) and bool(last.additional_kwargs.get("unanswered"))
    failed_tools = any(m.status == "error" for m in turn_tools)
    failures = state.get("failures", 0) + 1 if unanswered or failed_tools else 0
    tried = [m.name or "tool" for m in turn_tools if m.status != "error"]
    update: dict[str, Any] = {"failures": failures, "tried": tried}
    blocked = screen_turn(_this_turn(messages), canary=turn_context(config).deps.settings.prompt_canary)
    if blocked:
        update["messages"] = blocked  # same ids: add_messages replaces them in the state
    reason = escalation_after_answer(state.get("labels", []), failures=failures)
    if reason:
        update.update(handoff=True, handoff_reason=reason)
    return update


def _tools_this_turn(messages: list[Any]) -> list[ToolMessage]:
    found: list[ToolMessage] = []
    for message in reversed(messages):
        if getattr(message, "type", "") == "human":
            break
        if isinstance(message, ToolMessage):
            found.append(message)
    return found


def _this_turn(messages: list[Any]) -> list[Any]:
    for index in range(len(messages) - 1, -1, -1):
        if getattr(messages[index], "type", "") == "human":
            return messages[index + 1 :]
    return list(messages)

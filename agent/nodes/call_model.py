from __future__ import annotations

import contextlib
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig

from agent.context import turn_context
from agent.limits import stepped_out
from agent.prompts.system import render_system_prompt
from agent.state import ConversationState

HISTORY_WINDOW = 24


def make_call_model(model: Runnable | BaseChatModel, *, remote: bool = True) -> Any:
    """``remote``: the model is an endpoint the turn waits for, so the turn leaves its slot in the
    turn gate meanwhile; the offline policy is this process's own CPU and keeps it."""

    async def call_model(state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
        """One model step over the recent history; the model decides on tool calls or a reply."""
        ctx = turn_context(config)
        company = ctx.extra.get("company_name", "供热公司")
        labels = state.get("labels", [])
        # LLM backends read the prompt; the offline policy reads the same facts as structured data.
        system = SystemMessage(
            render_system_prompt(
                company=company, resident_brief=ctx.resident_brief, canary=ctx.deps.settings.prompt_canary
            ),
            additional_kwargs={
                "policy": {
                    "labels": dict(labels[-1]) if labels else None,
                    "bound": ctx.resident.account_id is not None,
                }
            },
        )
        history = _recent(state["messages"])
        async with stepped_out() if remote else contextlib.nullcontext():
            response = await model.ainvoke([system, *history], config)
        return {"messages": [response], "steps": state.get("steps", 0) + 1}

    return call_model


def _recent(messages: list[Any]) -> list[Any]:
    """The last messages, never starting on a tool result whose call was cut off."""
    window = messages[-HISTORY_WINDOW:]
    while window and getattr(window[0], "type", "") == "tool":
        window = window[1:]
    return window

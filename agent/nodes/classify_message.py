from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig

from agent.context import turn_context
from agent.escalation import LOW_CONFIDENCE
from agent.state import ConversationState, TurnLabels


async def classify_message(state: ConversationState, config: RunnableConfig) -> dict[str, Any]:
    """Label the newest resident message (category, emotion, urgency) and count unsure turns."""
    ctx = turn_context(config)
    last = next((m for m in reversed(state["messages"]) if isinstance(m, HumanMessage)), None)
    if last is None:
        return {}
    given = last.additional_kwargs.get("labels")
    if given:
        labels = TurnLabels(**given)
    else:
        result = ctx.classifier.classify(str(last.content), vulnerable=ctx.vulnerable)
        labels = TurnLabels(
            category=result.category,
            emotion=result.emotion,
            urgency=result.urgency,
            confidence=float(result.confidence),
        )
    unsure = labels["confidence"] < LOW_CONFIDENCE
    return {
        "labels": [labels],
        "low_confidence": state.get("low_confidence", 0) + 1 if unsure else 0,
        "steps": 0,
        "handoff": False,
        "handoff_reason": None,
    }

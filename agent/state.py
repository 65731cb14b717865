"""The checkpointed state of one conversation thread.

Only plain data lives here (messages, dicts, counters) so any LangGraph checkpointer can store
it. Identity, database sessions and clients travel in the runtime config (agent/context.py),
never in the state, so a checkpoint never carries a secret or a live connection.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

LABEL_HISTORY = 12


def keep_recent(
    existing: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    return ((existing or []) + (new or []))[-LABEL_HISTORY:]


def merge_dict(existing: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    return {**(existing or {}), **(new or {})}


class TurnLabels(TypedDict):
    category: str
    emotion: str
    urgency: str
    confidence: float


class ConversationState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    labels: Annotated[list[TurnLabels], keep_recent]  # one entry per resident message, newest last
    slots: Annotated[dict[str, Any], merge_dict]  # what the bot has learned (symptoms, since, temperature)
    failures: int  # consecutive turns the bot could not help
    low_confidence: int  # consecutive resident messages classified with low confidence
    handoff: bool
    handoff_reason: str | None
    steps: int  # model calls in the current turn
    tried: Annotated[list[str], keep_recent]  # tools called and documents cited, for the handoff summary

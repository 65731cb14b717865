"""Runtime context of one turn: who is talking and the services the nodes and tools use.

Built by the entry point for every turn and passed in LangGraph's config, so the compiled graph
holds no globals and the model never supplies identity (tools read ``ResidentContext`` from the
same config; see tools/context.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tools.context import ResidentContext, ToolDeps, make_tool_config


class Classifier(Protocol):
    def classify(self, text: str, *, vulnerable: bool = False) -> Any: ...


@dataclass(frozen=True)
class TurnContext:
    resident: ResidentContext
    deps: ToolDeps
    classifier: Classifier
    vulnerable: bool = False
    owned_by_human: bool = False
    resident_brief: str = ""  # masked one-liner for prompts and handoff summaries
    extra: dict[str, Any] = field(default_factory=dict)


def make_turn_config(ctx: TurnContext, *, thread_id: str) -> dict[str, Any]:
    config = make_tool_config(ctx.resident, ctx.deps, turn=ctx, thread_id=thread_id)
    config["recursion_limit"] = 40
    return config


def turn_context(config: Any) -> TurnContext:
    ctx = (config or {}).get("configurable", {}).get("turn")
    if not isinstance(ctx, TurnContext):
        raise RuntimeError("graph invoked without a TurnContext")
    return ctx

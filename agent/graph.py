"""The conversation graph: classify → (silent | hand off | model ⇄ tools) → finish.

    START → classify_message ─┬─ silent ────────────────────────────→ END   (a human owns it)
                              ├─ hand_off ──────────────────────────→ END
                              └─ call_model ⇄ run_tools → finish_turn ─┬→ END
                                                                       └→ hand_off → END

Built by ``build_graph`` with the model and tools passed in: nothing is compiled at import.
Expected tool failures (``DomainError``, arguments that fail a tool's schema) come back to the
model as tool messages it can read; anything else is a bug and propagates. A tool call with
arguments the tool does not declare (an injected ``account_no``, ``role``) is refused before it
runs (agent/guard.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError

from agent.guard import refuse_undeclared_arguments, refuse_undeclared_arguments_sync
from agent.llm import model_outage_errors
from agent.nodes.call_model import make_call_model
from agent.nodes.classify_message import classify_message
from agent.nodes.finish_turn import finish_turn
from agent.nodes.hand_off import hand_off
from agent.policy.model import OfflinePolicyModel
from agent.routing import route_after_classify, route_after_finish, route_after_model
from agent.state import ConversationState
from tools.errors import DomainError


def build_graph(
    *,
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    checkpointer: Any = None,
    fallback: BaseChatModel | None = None,
) -> Any:
    """``fallback`` answers a step when ``model`` raises one of ``model_outage_errors()`` (429s,
    timeouts, a dead endpoint), so a model outage still gives every resident a reply or a ticket."""
    bound: Any = model.bind_tools(list(tools)) if tools else model
    if fallback is not None:
        bound = bound.with_fallbacks(
            [fallback.bind_tools(list(tools)) if tools else fallback],
            exceptions_to_handle=model_outage_errors(),
        )
    graph = StateGraph(ConversationState)
    graph.add_node("classify_message", classify_message)
    graph.add_node("call_model", make_call_model(bound, remote=not isinstance(model, OfflinePolicyModel)))
    graph.add_node(
        "run_tools",
        ToolNode(
            list(tools),
            handle_tool_errors=tool_error_message,
            wrap_tool_call=refuse_undeclared_arguments_sync,
            awrap_tool_call=refuse_undeclared_arguments,
        ),
    )
    graph.add_node("finish_turn", finish_turn)
    graph.add_node("hand_off", hand_off)
    graph.add_edge(START, "classify_message")
    graph.add_conditional_edges(
        "classify_message",
        route_after_classify,
        {"silent": END, "hand_off": "hand_off", "call_model": "call_model"},
    )
    graph.add_conditional_edges(
        "call_model", route_after_model, {"run_tools": "run_tools", "finish_turn": "finish_turn"}
    )
    graph.add_edge("run_tools", "call_model")
    graph.add_conditional_edges("finish_turn", route_after_finish, {"hand_off": "hand_off", "end": END})
    graph.add_edge("hand_off", END)
    return graph.compile(checkpointer=checkpointer)


def tool_error_message(error: Exception) -> str:
    """Expected failures become tool messages the model can read: a ``DomainError``, or arguments
    that fail the tool's schema (a model or an injection sending ``category="heating"`` must not
    crash the resident's turn). Anything else is a bug and is re-raised here, because ToolNode
    hands every exception to this handler."""
    if isinstance(error, DomainError):
        return f"错误：{error.message}"
    if isinstance(error, ToolInvocationError):
        return f"错误：工具参数不正确，请修正后重试。{error}"
    raise error

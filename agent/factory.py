"""Assembles the agent runtime from settings: model, tools, checkpointer, locks, classifier.

Called once by the app's lifespan (and by tests and evals); nothing here runs at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from sqlalchemy.ext.asyncio import AsyncSession

from agent.checkpoints import make_checkpointer
from agent.classify import make_classifier
from agent.context import Classifier
from agent.graph import build_graph
from agent.knowledge import make_knowledge_tool
from agent.limits import MessageRateLimiter, TurnGate
from agent.llm import make_chat_model, make_fallback_model
from agent.locks import TurnLocks
from agent.runtime import AgentRuntime
from agent.suggestions import suggest
from kb.retriever import KnowledgeBase
from tools.context import ResidentContext, ToolDeps
from tools.events import EventBus


def business_tools() -> list[BaseTool]:
    """The business modules' agent tools (each reads identity from the server-side context)."""
    from tools.billing.tools import BILLING_TOOLS
    from tools.crm.tools import CRM_TOOLS
    from tools.tickets.tools import TICKET_TOOLS

    return [*BILLING_TOOLS, *TICKET_TOOLS, *CRM_TOOLS]


@contextlib.asynccontextmanager
async def make_agent_runtime(
    deps: ToolDeps,
    *,
    kb: KnowledgeBase,
    events: EventBus,
    company_name: str = "供热公司",
    model: BaseChatModel | None = None,
    classifier: Classifier | None = None,
    tools: Sequence[BaseTool] | None = None,
) -> AsyncIterator[AgentRuntime]:
    locks = TurnLocks(deps.settings.redis_url)
    limiter = MessageRateLimiter(deps.settings.chat_rate_per_minute, deps.settings.redis_url)
    all_tools = [make_knowledge_tool(kb), *(tools if tools is not None else business_tools())]

    async def suggest_now(session: AsyncSession, resident: ResidentContext, category: Any) -> list[str]:
        return await suggest(session, resident, category, clock=deps.clock)

    chat_model = model or make_chat_model(deps.settings)
    try:
        async with make_checkpointer(deps.settings) as checkpointer:
            yield AgentRuntime(
                deps=deps,
                graph=build_graph(
                    model=chat_model,
                    tools=all_tools,
                    checkpointer=checkpointer,
                    fallback=make_fallback_model(chat_model),
                ),
                classifier=classifier or make_classifier(deps.settings.data_dir),
                locks=locks,
                limiter=limiter,
                gate=TurnGate(deps.settings.turn_concurrency),
                events=events,
                suggest=suggest_now,
                company_name=company_name,
            )
    finally:
        await locks.close()
        await limiter.close()

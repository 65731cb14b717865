"""The knowledge-base tool the model calls. Scope comes from the bound account, never the model:
a resident of 锦绣花园3号楼 sees notices for that building, an anonymous visitor only company-wide ones."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from sqlalchemy.ext.asyncio import AsyncSession

from kb.gaps import record_unanswered
from kb.retriever import KnowledgeBase, Scope
from tools.clock import Clock, local_date
from tools.context import tool_context
from tools.crm.models import Account
from tools.db import transaction

PASSAGES = 3


def make_knowledge_tool(kb: KnowledgeBase) -> BaseTool:
    @tool
    async def search_knowledge(query: str, config: RunnableConfig) -> dict[str, Any]:
        """Read-only. Search the heating company's knowledge base (prices, deadlines, season dates,
        self-check guides, 报停, invoices, 过户, notices for the resident's building). Use the
        resident's question as the query. Answer only from the returned passages and name their
        titles; if "confident" is false, say you are not sure and offer a human agent."""
        resident, deps = tool_context(config)
        community = building = None
        if resident.account_id:
            async with transaction(deps.sessions) as session:
                account = await session.get(Account, resident.account_id)
                if account is not None:
                    community, building = account.building.community.name, account.building.number
        scope = Scope(today=local_date(deps.clock), community=community, building=building)
        # Off the event loop: the embedding and BM25 work would otherwise hold up every other
        # request, the WeChat pushes waiting for their 5-second window among them.
        result = await asyncio.to_thread(kb.search, query[:300], scope=scope, k=PASSAGES)
        return {
            "confident": result.confident,
            "confidence": result.confidence,
            "passages": [
                {
                    "document_id": p.document_id,
                    "title": p.title,
                    "section": p.section,
                    "kind": p.kind,
                    "text": p.text,
                    **({"answer": p.text} if p.kind == "faq" else {}),
                    "score": p.score,
                }
                for p in result.passages
            ],
        }

    return search_knowledge


def _search_results(turn: list[Any]) -> list[dict[str, Any]]:
    found = []
    for item in turn:
        if not isinstance(item, ToolMessage) or item.name != "search_knowledge" or item.status == "error":
            continue
        data = item.artifact
        if data is None and isinstance(item.content, str):
            try:
                data = json.loads(item.content)
            except json.JSONDecodeError:
                data = None
        if isinstance(data, dict):
            found.append(data)
    return found


async def note_knowledge_gap(
    session: AsyncSession,
    *,
    turn: list[Any],
    handoff: bool,
    message: Any,
    conversation: Any,
    clock: Clock,
) -> None:
    """Record the resident's question for KB mining when this turn's knowledge fell short: the
    search was not confident (then: handed off, abstained, or answered anyway with low
    confidence), or an inquiry went to a human without a search at all."""
    searches = _search_results(turn)
    unanswered = any(isinstance(m, AIMessage) and m.additional_kwargs.get("unanswered") for m in turn)
    if searches and any(s.get("confident") for s in searches) and not (unanswered or handoff):
        return
    if searches:
        reason = "handed_off" if handoff else "abstained" if unanswered else "low_confidence"
    elif handoff and message.category == "inquiry":
        reason = "handed_off"
    else:
        return
    community = building = None
    if conversation.account_id:
        account = await session.get(Account, conversation.account_id)
        if account is not None:
            community, building = account.building.community.name, account.building.number
    await record_unanswered(
        session,
        question=message.text,
        message_id=message.id,
        conversation_id=conversation.id,
        reason=reason,
        confidence=max((float(s.get("confidence") or 0.0) for s in searches), default=None),
        category=message.category,
        scope_community=community,
        scope_building=building,
        clock=clock,
    )

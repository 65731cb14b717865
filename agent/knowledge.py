"""The knowledge-base tool the model calls. Scope comes from the bound account, never the model:
a resident of 锦绣花园3号楼 sees notices for that building, an anonymous visitor only company-wide ones."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool

from kb.retriever import KnowledgeBase, Scope
from tools.clock import local_date
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
        result = kb.search(query[:300], scope=scope, k=PASSAGES)
        return {
            "confident": result.confident,
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

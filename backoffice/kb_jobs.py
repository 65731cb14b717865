"""The knowledge base's standing jobs: question mining (hot topics + proposals) and notice expiry.

The API process passes its own ``KnowledgeBase`` so both jobs share its Chroma client and its
lexical cache; ``warmline worker`` builds one from the settings on first use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from backoffice.jobs import SETTLE_AFTER_START, Job
from kb.retriever import KnowledgeBase
from tools.db import transaction

if TYPE_CHECKING:
    from backoffice.deps import AppServices

MINING_EVERY = timedelta(hours=1)  # season start changes what residents ask within hours
EXPIRY_EVERY = timedelta(hours=1)


def kb_jobs(kb: KnowledgeBase | None = None) -> list[Job]:
    holder: dict[str, KnowledgeBase] = {"kb": kb} if kb is not None else {}

    def knowledge(services: AppServices) -> KnowledgeBase:
        if "kb" not in holder:
            from kb.ingest import make_kb

            holder["kb"] = make_kb(services.settings)
        return holder["kb"]

    async def mine(services: AppServices) -> dict[str, Any] | None:
        from kb.mining import mine_hot_topics

        async with transaction(services.sessions) as session:
            summary = await mine_hot_topics(session, kb=knowledge(services), clock=services.clock)
        return summary if summary["questions"] else None

    async def expire(services: AppServices) -> dict[str, int] | None:
        from kb.curation import expire_documents

        async with transaction(services.sessions) as session:
            counts = await expire_documents(session, kb=knowledge(services), clock=services.clock)
        return counts if counts["expired"] else None

    return [Job("kb_mining", MINING_EVERY, mine, SETTLE_AFTER_START), Job("kb_expiry", EXPIRY_EVERY, expire)]

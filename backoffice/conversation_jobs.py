"""The auto-close job: conversations without a message for ``conversation_auto_close_hours`` end.

Closing is what hands a conversation to quality inspection and releases an agent's ownership (the
bot stays silent while an agent owns it, so a forgotten take-over would silence it for good). What
an agent answered in a conversation that ends this way may be worth an FAQ entry, exactly as when
the agent hands it back or closes it, so the same learning step runs for those.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from backoffice.jobs import Job
from backoffice.kb_learning import learn_from_agent_answers
from tools.conversations.closing import close_idle_conversations
from tools.db import transaction
from tools.logging import get_logger

if TYPE_CHECKING:
    from backoffice.deps import AppServices
    from kb.retriever import KnowledgeBase

log = get_logger(__name__)

AUTO_CLOSE_EVERY = timedelta(minutes=5)


def conversation_jobs(kb: KnowledgeBase | None = None) -> list[Job]:
    """``kb``: the API process's knowledge base; a worker process builds its own on first use."""
    holder: dict[str, KnowledgeBase] = {"kb": kb} if kb is not None else {}

    def knowledge(services: AppServices) -> KnowledgeBase:
        if "kb" not in holder:
            from kb.ingest import make_kb

            holder["kb"] = make_kb(services.settings)
        return holder["kb"]

    async def auto_close(services: AppServices) -> dict[str, int] | None:
        idle = timedelta(hours=services.settings.conversation_auto_close_hours)
        async with transaction(services.sessions) as session:
            closed = await close_idle_conversations(session, clock=services.clock, idle_after=idle)
        learned = 0
        for item in closed:
            if item.owner_staff_id is None:
                continue
            # One transaction each: a failed proposal must not undo the closes or the other proposals.
            try:
                async with transaction(services.sessions) as session:
                    proposal = await learn_from_agent_answers(
                        session, conversation_id=item.id, kb=knowledge(services), clock=services.clock
                    )
            except Exception:
                log.exception("kb_learning_failed", conversation_id=item.id)
                continue
            learned += proposal is not None
        return {"closed": len(closed), "kb_proposals": learned} if closed else None

    return [Job("conversation_auto_close", AUTO_CLOSE_EVERY, auto_close)]

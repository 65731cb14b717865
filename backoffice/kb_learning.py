"""Learning from human agents: when an agent hands a conversation back, the resident's questions
and the agent's answers become a proposed FAQ entry (kb/proposals.py decides whether there is
anything to learn and scrubs personal data). Lives in the composition layer because it reads
the conversations module, which the KB may not import."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from kb.models import KbProposal
from kb.proposals import Turn, propose_from_agent_answers
from kb.retriever import KnowledgeBase
from tools.clock import Clock
from tools.conversations.service import transcript
from tools.logging import get_logger

log = get_logger(__name__)


async def learn_from_agent_answers(
    session: AsyncSession, *, conversation_id: str, kb: KnowledgeBase, clock: Clock
) -> KbProposal | None:
    messages = await transcript(session, conversation_id=conversation_id, limit=60)
    turns = [
        Turn(message_id=m.id, sender=m.sender, text=m.text, internal=m.internal, category=m.category)
        for m in messages
    ]
    proposal = await propose_from_agent_answers(
        session, conversation_id=conversation_id, turns=turns, kb=kb, clock=clock
    )
    if proposal is not None:
        log.info("kb_proposal_from_agent", conversation_id=conversation_id, proposal_id=proposal.id)
    return proposal

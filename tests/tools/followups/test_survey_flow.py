"""Ticket completed → survey in the outbox → the resident's reply decides what happens next.

The reply goes through the real agent runtime and emotion classifier; the scripted model has one
generic answer, so a reply the survey did not take reads differently from the survey's thanks.
"""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from langchain_core.messages import AIMessage
from sqlalchemy import select

from agent.checkpoints import make_checkpointer
from agent.graph import build_graph
from agent.inbound import InboundMessage
from agent.locks import TurnLocks
from agent.runtime import AgentRuntime
from tests.agent.fakes import ScriptedModel
from tests.tools.followups.factories import make_completed_ticket
from tools.context import ToolDeps
from tools.conversations.models import Conversation
from tools.dispatch.models import Worker
from tools.events import InProcessBus
from tools.followups.models import Survey
from tools.followups.service import SURVEY_WINDOW, expire_surveys, send_due_surveys
from tools.outbox import OutboxMessage
from tools.tickets.models import Ticket

BOT_ANSWER = "请问还有什么可以帮您？"


async def _no_suggestions(session, resident, category) -> list[str]:
    return []


@pytest.fixture
async def runtime(settings, clock, sessions, shared_classifier) -> AsyncIterator[AgentRuntime]:
    async with make_checkpointer(settings) as saver:
        yield AgentRuntime(
            deps=ToolDeps(settings=settings, clock=clock, sessions=sessions),
            graph=build_graph(
                model=ScriptedModel(script=[AIMessage(BOT_ANSWER)]), tools=[], checkpointer=saver
            ),
            classifier=shared_classifier,
            locks=TurnLocks(),
            events=InProcessBus(),
            suggest=_no_suggestions,
        )


async def _surveyed_ticket(sessions, clock, settings) -> Ticket:
    async with sessions() as session, session.begin():
        ticket = await make_completed_ticket(session, clock=clock, settings=settings)
        assert await send_due_surveys(session, clock=clock) == 1
    return ticket


async def _reply(runtime, ticket: Ticket, text: str):
    return await runtime.respond(InboundMessage(conversation_id=ticket.conversation_id, text=text))


async def test_a_completed_ticket_gets_one_survey_in_the_outbox(sessions, clock, settings) -> None:
    ticket = await _surveyed_ticket(sessions, clock, settings)
    async with sessions() as session, session.begin():
        assert await send_due_surveys(session, clock=clock) == 0  # idempotent
        outbox = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "survey")))
        survey = await session.scalar(select(Survey))
    assert len(outbox) == 1 and "请为本次维修打分 1-5" in outbox[0].text
    assert outbox[0].account_id == ticket.account_id and outbox[0].conversation_id == ticket.conversation_id
    assert survey.status == "pending" and survey.ticket_id == ticket.id


async def test_five_with_praise_moves_the_ticket_to_visited_and_credits_the_worker(
    runtime, sessions, clock, settings
) -> None:
    ticket = await _surveyed_ticket(sessions, clock, settings)
    reply = await _reply(runtime, ticket, "5分 王师傅很负责")
    assert "感谢您的评价" in reply.reply and BOT_ANSWER not in reply.reply and not reply.handoff
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        stored = await session.get(Ticket, ticket.id)
        worker = await session.get(Worker, stored.worker_id)
    assert (survey.status, survey.score, survey.outcome, survey.flagged) == ("answered", 5, "visited", False)
    assert stored.status == "已回访"
    assert worker.praise_count == 1 and survey.praised_worker_id == worker.id


async def test_sarcastic_good_review_is_flagged_and_escalated_to_a_human(
    runtime, sessions, clock, settings
) -> None:
    ticket = await _surveyed_ticket(sessions, clock, settings)
    reply = await _reply(runtime, ticket, "行吧,给个好评,反正也没人管")
    assert reply.handoff
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        conversation = await session.get(Conversation, ticket.conversation_id)
        stored = await session.get(Ticket, ticket.id)
        worker = await session.get(Worker, stored.worker_id)
    assert survey.hidden_dissatisfaction and survey.flagged and survey.outcome == "escalated"
    assert conversation.handoff_requested_at is not None and "隐性不满" in conversation.handoff_summary
    assert stored.status == "已完成" and worker.praise_count == 0


async def test_a_score_of_one_reopens_the_ticket(runtime, sessions, clock, settings) -> None:
    ticket = await _surveyed_ticket(sessions, clock, settings)
    reply = await _reply(runtime, ticket, "1")
    assert reply.handoff and "重新受理" in reply.reply
    async with sessions() as session:
        stored = await session.get(Ticket, ticket.id)
        survey = await session.scalar(select(Survey))
    assert stored.status == "已受理" and stored.reopen_count == 1
    assert survey.score == 1 and survey.outcome == "reopened"


async def test_a_reply_after_the_window_is_an_ordinary_turn_and_the_survey_expires(
    runtime, sessions, clock, settings
) -> None:
    ticket = await _surveyed_ticket(sessions, clock, settings)
    clock.advance(SURVEY_WINDOW + timedelta(minutes=1))
    async with sessions() as session, session.begin():
        assert await expire_surveys(session, clock=clock) == 1
    reply = await _reply(runtime, ticket, "5")
    assert "感谢您的评价" not in (reply.reply or "")  # the graph answered, not the survey
    async with sessions() as session:
        survey = await session.scalar(select(Survey))
        stored = await session.get(Ticket, ticket.id)
    assert survey.status == "expired" and survey.score is None and stored.status == "已完成"

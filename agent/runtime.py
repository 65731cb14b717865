"""The one entry point channels call: ``AgentRuntime.respond(inbound)``.

A turn, in order:
1. under the conversation's lock, classify the message and store it with its labels (accepted:
   from here on nothing is lost); a repeated platform message id returns the earlier answer;
2. run the graph on the conversation's thread, or resume it if a crash interrupted this very
   message's turn (the checkpoint knows where it stopped);
3. store the bot's reply, link it to the resident's message, record a handoff, publish events.
Side-effecting tools are idempotent on their tool call id, so a resumed turn never repeats them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from sqlalchemy.ext.asyncio import AsyncSession

from agent.context import Classifier, TurnContext, make_turn_config
from agent.guard import strip_foreign_links
from agent.inbound import AgentReply, InboundMessage
from agent.knowledge import note_knowledge_gap
from agent.limits import MessageRateLimiter, TurnGate
from agent.locks import TurnLocks
from tools.context import ResidentContext, ToolDeps
from tools.conversations.models import Message
from tools.conversations.service import Labels, append_message, get_conversation, request_handoff
from tools.crm.models import Account
from tools.db import transaction
from tools.errors import InvalidInput
from tools.events import EventBus
from tools.followups.service import answer_survey
from tools.masking import mask_address, mask_name

Suggest = Callable[[AsyncSession, ResidentContext, str | None], Awaitable[list[str]]]

# Which tool results the channels get as structured fields beside the reply text.
TICKET_TOOLS = {"create_repair_ticket", "get_ticket_progress", "cancel_my_ticket"}
ORDER_TOOLS = {"create_payment_order"}
SOURCE_TOOLS = {"search_knowledge"}


@dataclass
class AgentRuntime:
    deps: ToolDeps
    graph: Any
    classifier: Classifier
    locks: TurnLocks
    events: EventBus
    suggest: Suggest
    company_name: str = "供热公司"
    limiter: MessageRateLimiter | None = None
    gate: TurnGate | None = None

    def warm_up(self, *, search: Callable[[str], Any] | None = None) -> None:
        """Load lazily built models now, so the first resident after a restart is not the slow one
        (WeChat allows 5 seconds for a passive reply)."""
        self.classifier.classify("暖气不热怎么办")
        if search is not None:
            search("暖气不热怎么办")

    @staticmethod
    def resident_context(conversation: Any) -> ResidentContext:
        """Identity for tools, from the server-side conversation row only."""
        return ResidentContext(
            channel=conversation.channel, conversation_id=conversation.id, account_id=conversation.account_id
        )

    async def respond(self, inbound: InboundMessage) -> AgentReply:
        """Raises ``InvalidInput`` (too long) or ``RateLimited`` before anything is stored."""
        limit = self.deps.settings.max_input_chars
        if len(inbound.text) > limit:
            raise InvalidInput(f"消息太长了（最多 {limit} 字），请分几条发送", code="text_too_long")
        if self.limiter is not None:
            await self.limiter.admit(inbound.conversation_id, inbound.external_id)
        async with self.locks.hold(inbound.conversation_id):
            if self.gate is None:
                return await self._turn(inbound)
            # Inside the conversation's lock: one resident's burst waits on its own lock, not on
            # slots that everyone else needs.
            async with self.gate.turn():
                return await self._turn(inbound)

    async def _turn(self, inbound: InboundMessage) -> AgentReply:
        clock = self.deps.clock
        async with transaction(self.deps.sessions) as session:
            conversation = await get_conversation(session, inbound.conversation_id)
            account = await session.get(Account, conversation.account_id) if conversation.account_id else None
            vulnerable = bool(account and account.resident.is_vulnerable)
            # In a worker thread, like the knowledge search: the event loop stays free for the
            # requests waiting on it (measured: 20 pushes at once came back 0.8 s late without).
            result = await asyncio.to_thread(self.classifier.classify, inbound.text, vulnerable=vulnerable)
            labels = Labels(result.category, result.emotion, result.urgency, float(result.confidence))
            message, created = await append_message(
                session,
                conversation=conversation,
                sender="resident",
                text=inbound.text,
                external_id=inbound.external_id,
                labels=labels,
                normalized_text=getattr(result, "normalized", None),
                meta={"attachments": list(inbound.attachments)} if inbound.attachments else None,
                clock=clock,
            )
            owned_by_human = conversation.owner_staff_id is not None
            earlier = (
                await session.get(Message, message.meta["reply_id"]) if message.meta.get("reply_id") else None
            )
            resident = ResidentContext(
                channel=conversation.channel,
                conversation_id=conversation.id,
                account_id=conversation.account_id,
            )
            brief = _resident_brief(account)
            survey = (
                await answer_survey(
                    session, conversation=conversation, message=message, emotion=result.emotion, clock=clock
                )
                if created and not owned_by_human
                else None
            )
        stored_labels = {
            "category": message.category,
            "emotion": message.emotion,
            "urgency": message.urgency,
            "confidence": message.confidence,
        }
        if not created and (earlier is not None or owned_by_human):
            return _replay(message, earlier, stored_labels)
        if created:
            await self.events.publish(f"conversation:{conversation.id}", _event("message", message))
            await self.events.publish("queue", {"type": "message", "conversation_id": conversation.id})

        if survey is not None and survey.consumed:
            # A follow-up survey answer: thank the resident instead of running a bot turn.
            turn = [AIMessage(content=survey.reply)]
            state = {"handoff": survey.handoff}
            return await self._store_reply(conversation.id, message.id, turn, state, stored_labels, resident)

        ctx = TurnContext(
            resident=resident,
            deps=self.deps,
            classifier=self.classifier,
            vulnerable=vulnerable,
            owned_by_human=owned_by_human,
            resident_brief=brief,
            extra={"company_name": self.company_name},
        )
        state = await self._run_graph(
            message, stored_labels, make_turn_config(ctx, thread_id=conversation.id)
        )
        turn = _messages_after(state.get("messages", []), message.id)
        if owned_by_human:
            return AgentReply(message_id=message.id, reply=None, classification=stored_labels)
        return await self._store_reply(conversation.id, message.id, turn, state, stored_labels, resident)

    async def _run_graph(
        self, message: Message, labels: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        """Run this message's turn, or finish the one a crash cut short.

        ``durability="sync"`` persists every step before the next starts, so a tool never runs
        ahead of the checkpoint holding the model's call that asked for it. After a kill -9 the
        saved state is one of (each found by evals/reliability/crash.py, pinned in
        tests/agent/test_runtime.py): a pending step (resume it); the message stored but the model
        not yet answered, sometimes with no pending step at all (nothing side-effecting ran, so run
        the turn again from its input); a model call saved without its step (resume, then rerun).
        """
        snapshot = await self.graph.aget_state(config)
        human = HumanMessage(id=message.id, content=message.text, additional_kwargs={"labels": labels})
        messages = (snapshot.values or {}).get("messages", [])
        if message.id not in {m.id for m in messages if isinstance(m, HumanMessage)}:
            return await self.graph.ainvoke({"messages": [human]}, config, durability="sync")
        turn = _messages_after(messages, message.id)
        if _answered(turn) and not snapshot.next:
            return snapshot.values
        if snapshot.next or any(isinstance(m, AIMessage) for m in turn):
            state = await self.graph.ainvoke(None, config, durability="sync")
            if _answered(_messages_after(state.get("messages", []), message.id)):
                return state
        return await self.graph.ainvoke({"messages": [human]}, config, durability="sync")

    async def _store_reply(
        self,
        conversation_id: str,
        message_id: str,
        turn: list[Any],
        state: dict[str, Any],
        labels: dict[str, Any],
        resident: ResidentContext,
    ) -> AgentReply:
        texts = [str(m.content) for m in turn if isinstance(m, AIMessage) and m.content]
        reply_text = strip_foreign_links(
            "\n\n".join(texts) or "抱歉，我没有理解您的问题，可以换个说法，或回复“转人工”联系客服。",
            allowed_hosts=self.deps.settings.reply_link_hosts,
        )
        ticket, order, sources = _structured(turn)
        handoff = bool(state.get("handoff"))
        summary = next(
            (
                m.additional_kwargs["handoff_summary"]
                for m in turn
                if "handoff_summary" in m.additional_kwargs
            ),
            None,
        )
        async with transaction(self.deps.sessions) as session:
            conversation = await get_conversation(session, conversation_id)
            bot, _ = await append_message(
                session,
                conversation=conversation,
                sender="bot",
                text=reply_text,
                meta={"reply_to": message_id, "sources": sources, "handoff": handoff},
                clock=self.deps.clock,
            )
            resident_message = await session.get(Message, message_id)
            resident_message.meta = {**resident_message.meta, "reply_id": bot.id}
            await note_knowledge_gap(
                session,
                turn=turn,
                handoff=handoff,
                message=resident_message,
                conversation=conversation,
                clock=self.deps.clock,
            )
            if handoff and summary:
                await request_handoff(
                    session, conversation=conversation, summary=summary, clock=self.deps.clock
                )
            suggestions = await self.suggest(session, resident, labels.get("category"))
        await self.events.publish(f"conversation:{conversation_id}", _event("message", bot))
        if handoff:
            await self.events.publish("queue", {"type": "handoff", "conversation_id": conversation_id})
        return AgentReply(
            message_id=message_id,
            reply=reply_text,
            classification=labels,
            suggestions=suggestions,
            handoff=handoff,
            ticket=ticket,
            payment_order=order,
            sources=sources,
        )


def _replay(message: Message, earlier: Message | None, labels: dict[str, Any]) -> AgentReply:
    meta = earlier.meta if earlier is not None else {}
    return AgentReply(
        message_id=message.id,
        reply=earlier.text if earlier is not None else None,
        classification=labels,
        handoff=bool(meta.get("handoff")),
        sources=list(meta.get("sources", [])),
        duplicate=True,
    )


def _answered(turn: list[Any]) -> bool:
    """The turn ended on a reply: an AI message without tool calls (a handoff also ends one)."""
    return bool(turn) and isinstance(turn[-1], AIMessage) and not turn[-1].tool_calls


def _messages_after(messages: list[Any], message_id: str) -> list[Any]:
    for index, item in enumerate(messages):
        if isinstance(item, HumanMessage) and item.id == message_id:
            return messages[index + 1 :]
    return []


def _structured(turn: list[Any]) -> tuple[dict | None, dict | None, list[dict]]:
    ticket = order = None
    sources: list[dict] = []
    for item in turn:
        if not isinstance(item, ToolMessage) or item.status == "error":
            continue
        data = _as_data(item)
        if item.name in TICKET_TOOLS and isinstance(data, dict):
            ticket = data.get("ticket", data)
        elif item.name in ORDER_TOOLS and isinstance(data, dict):
            order = data.get("payment_order", data)
        elif item.name in SOURCE_TOOLS and isinstance(data, dict):
            for passage in data.get("passages", []):
                source = {"title": passage.get("title"), "document_id": passage.get("document_id")}
                if source not in sources:
                    sources.append(source)
    return ticket, order, sources


def _as_data(message: ToolMessage) -> Any:
    if message.artifact is not None:
        return message.artifact
    try:
        return json.loads(message.content) if isinstance(message.content, str) else message.content
    except json.JSONDecodeError:
        return None


def _resident_brief(account: Account | None) -> str:
    if account is None:
        return ""
    resident = account.resident
    tags = f" · 标签：{'、'.join(resident.tags)}" if resident.tags else ""
    return f"{mask_name(resident.name)} · 户号{account.account_no} · {mask_address(account.address)}{tags}"


def _event(kind: str, message: Message) -> dict[str, Any]:
    return {
        "type": kind,
        "message_id": message.id,
        "conversation_id": message.conversation_id,
        "sender": message.sender,
        "text": message.text,
        "category": message.category,
        "emotion": message.emotion,
        "urgency": message.urgency,
        "at": message.created_at.isoformat(),
    }


__all__ = ["AgentRuntime"]

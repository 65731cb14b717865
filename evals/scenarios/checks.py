"""Judging a run: per-turn checks on what the resident read, end checks on the database.

Two invariants hold for every scenario whatever it expects: no reply shows an unmasked mobile
number (checked on every turn), and every amount in 元 a reply states exists in the knowledge base
or in the resident's own records (bills, orders, applications) — the bot never invents a price, fee
or balance. The amount check runs once, after the run: a payment order or a 报停 quote the tools
create mid-conversation is a real record the reply may quote, and it only exists once the tool ran.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.billing.models import InvoiceRequest, PaymentOrder, ServiceRequest
from tools.conversations.models import Conversation
from tools.tickets.models import BuildingIncident, Ticket

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
AMOUNT = re.compile(r"(\d+(?:\.\d{1,2})?)\s*元")


@dataclass
class RunFacts:
    """What a run may mention and whom it must not touch, fixed before the first turn."""

    values: dict[str, str]
    allowed_amounts: set[Decimal]
    account_id: str | None
    foreign_id: str | None
    tickets_before: int = 0
    foreign_rows_before: tuple[int, int] = (0, 0)
    failures: list[str] = field(default_factory=list)

    def fill(self, text: str) -> str:
        for key, value in self.values.items():
            text = text.replace("{" + key + "}", value)
        return text


def amounts_in(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for raw in AMOUNT.findall(text):
        try:
            found.add(Decimal(raw).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
    return found


def numbers_in(text: str) -> set[Decimal]:
    """Every number a source states, so a reply quoting 26 元/㎡ or 698.10 元 is grounded."""
    found: set[Decimal] = set()
    for raw in re.findall(r"\d+(?:\.\d+)?", text):
        try:
            found.add(Decimal(raw).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
    return found


def check_turn(reply: dict[str, Any], expect: dict[str, Any], facts: RunFacts, where: str) -> list[str]:
    text = reply.get("reply") or ""
    problems: list[str] = []

    def fail(message: str) -> None:
        problems.append(f"{where}: {message}")

    for needle in expect.get("contains_all", []):
        if facts.fill(needle) not in text:
            fail(f"reply lacks {facts.fill(needle)!r}")
    if expect.get("contains_any") and not any(facts.fill(n) in text for n in expect["contains_any"]):
        fail(f"reply has none of {[facts.fill(n) for n in expect['contains_any']]}")
    for needle in expect.get("not_contains", []):
        if facts.fill(needle) in text:
            fail(f"reply must not contain {facts.fill(needle)!r}")
    if "handoff" in expect and bool(reply.get("handoff")) != bool(expect["handoff"]):
        fail(f"handoff is {reply.get('handoff')}, expected {expect['handoff']}")
    if expect.get("silent") and text.strip():
        fail(f"bot spoke while a human owns the conversation: {text[:60]!r}")
    ticket = reply.get("ticket")
    if "ticket" in expect:
        if not ticket:
            fail("no ticket in the reply")
        else:
            for key, value in expect["ticket"].items():
                if ticket.get(key) != value:
                    fail(f"ticket {key} is {ticket.get(key)!r}, expected {value!r}")
    if expect.get("no_ticket") and ticket and not reply.get("duplicate_ticket"):
        fail(f"a ticket was shown/created: {ticket.get('ticket_no')}")
    if "payment_order" in expect:
        order = reply.get("payment_order")
        wanted = facts.fill(str(expect["payment_order"].get("amount", "")))
        if not order:
            fail("no payment order in the reply")
        elif wanted and Decimal(order["amount"]) != Decimal(wanted):
            fail(f"order amount {order['amount']}, expected {wanted}")
    titles = " ".join(f"{s.get('title', '')}" for s in reply.get("sources") or [])
    if expect.get("sources_any") and not any(t in titles for t in expect["sources_any"]):
        fail(f"sources {titles!r} have none of {expect['sources_any']}")
    for banned in expect.get("sources_none", []):
        if banned in titles:
            fail(f"source {banned!r} must not answer")
    labels = reply.get("classification") or {}
    if "category" in expect and labels.get("category") != expect["category"]:
        fail(f"category {labels.get('category')}, expected {expect['category']}")
    if "urgency_in" in expect and labels.get("urgency") not in expect["urgency_in"]:
        fail(f"urgency {labels.get('urgency')}, expected one of {expect['urgency_in']}")
    if expect.get("suggestions_any"):
        bubbles = " ".join(reply.get("suggestions") or [])
        if not any(n in bubbles for n in expect["suggestions_any"]):
            fail(f"suggestions {reply.get('suggestions')} have none of {expect['suggestions_any']}")
    problems.extend(f"{where}: unmasked mobile number {m[:3]}****{m[-4:]}" for m in MOBILE.findall(text))
    return problems


def invented_amounts(replies: list[str], facts: RunFacts) -> list[str]:
    """The end-of-run grounding check; ``facts.allowed_amounts`` must already hold what the tools
    produced during the run (see ``runner._grant_quotes``)."""
    problems = []
    for index, text in enumerate(replies, 1):
        invented = [str(amount) for amount in sorted(amounts_in(text) - facts.allowed_amounts)]
        if invented:
            problems.append(f"reply {index}: amounts not in the KB or the resident's records: {invented}")
    return problems


async def check_end(session: AsyncSession, expect: dict[str, Any], facts: RunFacts) -> list[str]:
    problems: list[str] = []
    mine = facts.account_id
    tickets = list(await session.scalars(select(Ticket).where(Ticket.account_id == mine))) if mine else []
    if "tickets_created" in expect and len(tickets) - facts.tickets_before != expect["tickets_created"]:
        problems.append(
            f"{len(tickets) - facts.tickets_before} tickets created, expected {expect['tickets_created']}"
        )
    if "ticket" in expect:
        newest = max(tickets, key=lambda t: t.created_at, default=None)
        for key, value in expect["ticket"].items():
            actual = getattr(newest, key, None) if newest else None
            if key == "urgency_in":
                if newest is None or newest.urgency not in value:
                    problems.append(
                        f"ticket urgency {getattr(newest, 'urgency', None)}, expected one of {value}"
                    )
            elif actual != value:
                problems.append(f"ticket {key} is {actual!r}, expected {value!r}")
    if "payment_orders" in expect:
        orders = list(await session.scalars(select(PaymentOrder).where(PaymentOrder.account_id == mine)))
        wanted = expect["payment_orders"]
        if len(orders) != wanted.get("count", len(orders)):
            problems.append(f"{len(orders)} payment orders, expected {wanted['count']}")
        if wanted.get("amount") and not any(
            o.amount == Decimal(facts.fill(str(wanted["amount"]))) for o in orders
        ):
            problems.append(f"no order of {facts.fill(str(wanted['amount']))} 元")
    if "service_requests" in expect:
        rows = list(await session.scalars(select(ServiceRequest).where(ServiceRequest.account_id == mine)))
        wanted = expect["service_requests"]
        kinds = [r.kind for r in rows]
        if len(rows) != wanted.get("count", len(rows)) or (
            wanted.get("kind") and wanted["kind"] not in kinds
        ):
            problems.append(f"service requests {kinds}, expected {wanted}")
    if "invoice_requests" in expect:
        count = len(
            list(await session.scalars(select(InvoiceRequest).where(InvoiceRequest.account_id == mine)))
        )
        if count != expect["invoice_requests"]:
            problems.append(f"{count} invoice requests, expected {expect['invoice_requests']}")
    if "handoff_summary" in expect:
        summaries = [
            c.handoff_summary or ""
            for c in await session.scalars(
                select(Conversation).where(Conversation.handoff_summary.is_not(None))
            )
        ]
        missing = [n for n in expect["handoff_summary"] if not any(facts.fill(n) in s for s in summaries)]
        if not summaries or missing:
            problems.append(f"handoff summary lacks {missing or 'everything'}: {summaries[:1]}")
    if expect.get("foreign_untouched") and facts.foreign_id:
        after = await foreign_rows(session, facts.foreign_id)
        if after != facts.foreign_rows_before:
            problems.append(f"another resident's rows changed: {facts.foreign_rows_before} → {after}")
    if expect.get("incident_opened") and not list(await session.scalars(select(BuildingIncident))):
        problems.append("no building incident was opened")
    return problems


async def foreign_rows(session: AsyncSession, account_id: str) -> tuple[int, int]:
    tickets = len(list(await session.scalars(select(Ticket.id).where(Ticket.account_id == account_id))))
    orders = len(
        list(await session.scalars(select(PaymentOrder.id).where(PaymentOrder.account_id == account_id)))
    )
    return tickets, orders

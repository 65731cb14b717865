"""Ticket tools for the agent. The account is the conversation's bound one, never an argument."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolCallId, tool
from sqlalchemy.ext.asyncio import AsyncSession

from tools.clock import COMPANY_TZ
from tools.context import ToolDeps, tool_context
from tools.db import transaction
from tools.dispatch.planning import window_text
from tools.dispatch.service import assign_ticket
from tools.errors import DomainError
from tools.tickets import service
from tools.tickets.models import Ticket

RepairCategory = Literal["no_heat", "leak", "valve", "equipment_noise", "suspend"]
UrgencyArg = Literal["emergency", "high", "normal", "low"]


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    eta = ""
    if ticket.eta_start and ticket.eta_end:
        start, end = ticket.eta_start.astimezone(COMPANY_TZ), ticket.eta_end.astimezone(COMPANY_TZ)
        eta = f"{start:%m月%d日 %H:%M}-{end:%H:%M}"
    return {
        "ticket_no": ticket.ticket_no,
        "status": ticket.status,
        "category": ticket.category,
        "urgency": ticket.urgency,
        "eta_text": f"预计上门时段：{eta}。" if eta else "",
        "timeline": [
            {
                "at": event.at.astimezone(COMPANY_TZ).strftime("%m-%d %H:%M"),
                "status": event.status,
                "message": event.message,
            }
            for event in ticket.resident_events
        ],
    }


async def _auto_dispatch(session: AsyncSession, ticket: Ticket, deps: ToolDeps) -> str | None:
    """Dispatch a new ticket at once when a worker can take it; the ticket stands either way."""
    if not deps.settings.auto_dispatch or ticket.status != "已受理":
        return None
    try:
        async with session.begin_nested():
            outcome = await assign_ticket(session, ticket=ticket, clock=deps.clock, settings=deps.settings)
    except DomainError:
        await session.refresh(ticket)  # the savepoint rolled back: reload what it may have expired
        return None  # nobody free with the skill: dispatchers pick it up from the board
    return f"已派{outcome.worker.name}师傅上门，预计上门时段：{window_text(outcome.eta)}。"


@tool
async def create_repair_ticket(
    category: RepairCategory,
    description: str,
    config: RunnableConfig,
    tool_call_id: Annotated[str, InjectedToolCallId],
    urgency: UrgencyArg = "normal",
) -> dict[str, Any]:
    """Changes data. Open a repair ticket for the bound resident's home (the address is on file).
    Describe the symptoms in the resident's words. Use urgency "emergency" for burst pipes, heavy
    leaks, flooding or vulnerable people in the cold. A repeat report joins the open ticket."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        outcome = await service.create_or_attach(
            session,
            account_id=account_id,
            category=category,
            urgency=urgency,
            description=description,
            clock=deps.clock,
            settings=deps.settings,
            conversation_id=resident.conversation_id,
            idempotency_key=f"tool:{tool_call_id}",
        )
        dispatch_message = None if outcome.duplicate else await _auto_dispatch(session, outcome.ticket, deps)
        await session.refresh(outcome.ticket, ["events"])
        view = ticket_view(outcome.ticket)
    if dispatch_message:
        view["eta_text"] = dispatch_message  # names the worker and the window, so the reply carries both
    view["sla_text"] = service.sla_text(outcome.ticket.urgency, deps.settings) + "。"
    return {"ticket": view, "duplicate": outcome.duplicate, "building_alert": outcome.incident is not None}


@tool
async def get_ticket_progress(config: RunnableConfig, ticket_no: str | None = None) -> dict[str, Any]:
    """Read-only. Progress of the bound resident's repair ticket (by number, or the latest one):
    status, worker, visit window and the full timeline."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        ticket = await service.resident_ticket(session, account_id=account_id, ticket_no=ticket_no)
        view = ticket_view(ticket)
    last = view["timeline"][-1]["message"] if view["timeline"] else ""
    view["message"] = f"工单{view['ticket_no']}当前状态：{view['status']}。{last}{view['eta_text']}"
    return {"ticket": view, "message": view["message"]}


@tool
async def cancel_my_ticket(config: RunnableConfig, ticket_no: str | None = None) -> dict[str, Any]:
    """Changes data. Cancel the bound resident's repair ticket (by number, or the latest one) when
    the problem is solved. Only before the worker arrives."""
    resident, deps = tool_context(config)
    account_id = resident.require_account()
    async with transaction(deps.sessions) as session:
        ticket = await service.resident_ticket(session, account_id=account_id, ticket_no=ticket_no)
        if ticket.status != "已取消":
            await service.transition(
                session, ticket, "已取消", clock=deps.clock, message="住户已取消报修。", actor="resident"
            )
        await session.refresh(ticket, ["events"])
        view = ticket_view(ticket)
    return {"ticket": view, "message": f"工单{view['ticket_no']}已取消，如有需要可以随时重新报修。"}


TICKET_TOOLS = [create_repair_ticket, get_ticket_progress, cancel_my_ticket]

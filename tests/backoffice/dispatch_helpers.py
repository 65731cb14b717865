"""Shared steps for the dispatch API tests: staff logins and tickets for demo accounts."""

from __future__ import annotations

import httpx

from tools.crm.service import get_account_by_no
from tools.tickets.service import create_or_attach

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    passwords = {"admin": "warmline-admin", "supervisor": "warmline-super"}
    password = passwords.get(username, "warmline-worker" if username.startswith("w") else "warmline-agent")
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def open_ticket(
    sessions,
    clock,
    settings,
    *,
    account_no: str = "2026010001",
    category: str = "no_heat",
    urgency: str = "normal",
) -> str:
    async with sessions() as session, session.begin():
        account = await get_account_by_no(session, account_no)
        outcome = await create_or_attach(
            session,
            account_id=account.id,
            category=category,
            urgency=urgency,
            description="暖气不热，屋里16度，电话13912340001",
            clock=clock,
            settings=settings,
        )
        return outcome.ticket.ticket_no


async def dispatch_to(client: httpx.AsyncClient, ticket_no: str, worker_code: str) -> dict:
    agent = await login(client, "agent1")
    response = await client.post(
        f"/api/v1/backoffice/tickets/{ticket_no}/dispatch", json={"worker_code": worker_code}, headers=agent
    )
    assert response.status_code == 200, response.text
    return response.json()

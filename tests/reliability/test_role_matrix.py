"""Every HTTP operation the app serves × every kind of caller, against an explicit table.

Roles: an anonymous visitor, a resident holding a chat token, and the five staff logins of the
demo (agent, supervisor, admin, repair worker). Who may do what (DESIGN.md, README's endpoint
tables): agents work conversations and tickets; supervisors also quality inspection, dashboards,
follow-ups, campaigns, audited unmasking and dispatch runs; admins everything the desk does plus
knowledge curation; workers only their own phone-app endpoints; residents only their own chat
session. WeChat's server URL answers to the platform's signature, never to a role.

A cell is *allowed* when the answer is neither 401/403 nor 5xx (a 404 for a made-up id or a 422
for an empty body still proves the caller got past authorization), *denied* when it is 401 or
403. The table must list exactly the operations the app serves: a new route without a row fails
here until someone decides who may call it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from backoffice.app import create_app
from backoffice.security import StaffClaims, issue_stream_ticket
from tests.reliability.asgi_probe import probe
from tools.conversations.models import Conversation, Message
from tools.staff.models import StaffUser
from tools.tickets.models import Ticket

ANON, RESIDENT, AGENT, SUPERVISOR, ADMIN, WORKER = (
    "anonymous",
    "resident",
    "agent",
    "supervisor",
    "admin",
    "worker",
)
ROLES = (ANON, RESIDENT, AGENT, SUPERVISOR, ADMIN, WORKER)
LOGINS = {
    AGENT: ("agent1", "warmline-agent"),
    SUPERVISOR: ("supervisor", "warmline-super"),
    ADMIN: ("admin", "warmline-admin"),
    WORKER: ("w001", "warmline-worker"),
}

EVERYONE = frozenset(ROLES)
STAFF = frozenset({AGENT, SUPERVISOR, ADMIN, WORKER})
DESK = frozenset({AGENT, SUPERVISOR, ADMIN})
SUPERVISORS = frozenset({SUPERVISOR, ADMIN})
ADMINS = frozenset({ADMIN})
WORKERS = frozenset({WORKER})
RESIDENTS = frozenset({RESIDENT})
SIGNED = frozenset()  # WeChat's server URL: the platform's signature is the only key

BO = "/api/v1/backoffice"
KB = f"{BO}/kb"
CHAT_SUFFIXES: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/sessions"): EVERYONE,  # opening a session is how a resident gets a token
    ("GET", "/sessions/{session_id}"): RESIDENTS,
    ("POST", "/sessions/{session_id}/messages"): RESIDENTS,
    ("POST", "/sessions/{session_id}/messages/stream"): RESIDENTS,
    ("GET", "/sessions/{session_id}/messages"): RESIDENTS,
    ("GET", "/sessions/{session_id}/events"): RESIDENTS,
    ("GET", "/sessions/{session_id}/tickets"): RESIDENTS,
    ("GET", "/sessions/{session_id}/tickets/{ticket_no}"): RESIDENTS,
    ("POST", "/sessions/{session_id}/attachments"): RESIDENTS,
}

MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # documentation, pages, health
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/redoc"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/widget.js"): EVERYONE,
    ("GET", "/widget.css"): EVERYONE,
    ("GET", "/console"): EVERYONE,
    ("GET", "/console/"): EVERYONE,
    ("GET", "/console/static/{name}"): EVERYONE,
    ("POST", "/api/v1/classify"): EVERYONE,  # DESIGN's public classifier service
    # staff login
    ("POST", "/api/v1/auth/login"): EVERYONE,
    ("GET", "/api/v1/auth/me"): STAFF,
    # the desk: conversations, residents (masked), labels, console, tickets, service hall
    ("GET", f"{BO}/residents"): DESK,
    ("GET", f"{BO}/conversations"): DESK,
    ("GET", f"{BO}/conversations/{{conversation_id}}"): DESK,
    ("POST", f"{BO}/conversations/{{conversation_id}}/take-over"): DESK,
    ("POST", f"{BO}/conversations/{{conversation_id}}/reply"): DESK,
    ("POST", f"{BO}/conversations/{{conversation_id}}/notes"): DESK,
    ("POST", f"{BO}/conversations/{{conversation_id}}/hand-back"): DESK,
    ("POST", f"{BO}/conversations/{{conversation_id}}/close"): DESK,
    ("GET", f"{BO}/conversations/events/stream"): DESK,
    ("PUT", f"{BO}/messages/{{message_id}}/labels"): DESK,
    ("GET", f"{BO}/console/bootstrap"): DESK,
    ("POST", f"{BO}/console/stream-ticket"): DESK,
    ("GET", f"{BO}/console/events"): DESK,
    ("GET", f"{BO}/console/mine"): DESK,
    ("GET", f"{BO}/console/conversations/{{conversation_id}}/suggestions"): DESK,
    ("GET", f"{BO}/tickets"): DESK,
    ("GET", f"{BO}/tickets/{{ticket_no}}"): DESK,
    ("GET", f"{BO}/tickets/{{ticket_no}}/attachments/{{attachment_id}}"): DESK,
    ("POST", f"{BO}/tickets/{{ticket_no}}/dispatch"): DESK,
    ("POST", f"{BO}/tickets/{{ticket_no}}/reassign"): SUPERVISORS,
    ("POST", f"{BO}/tickets/{{ticket_no}}/transition"): DESK,
    ("POST", f"{BO}/tickets/{{ticket_no}}/notes"): DESK,
    ("GET", f"{BO}/dispatch/board"): DESK,
    ("POST", f"{BO}/dispatch/run"): SUPERVISORS,
    ("GET", f"{BO}/sla/breaches"): DESK,
    ("GET", f"{BO}/alerts"): DESK,
    ("POST", f"{BO}/alerts/{{incident_id}}/resolve"): SUPERVISORS,
    ("GET", f"{BO}/service-requests"): DESK,
    ("POST", f"{BO}/service-requests/{{request_id}}/approve"): DESK,
    ("POST", f"{BO}/service-requests/{{request_id}}/reject"): DESK,
    # supervisors: unmasking with a reason, audit, follow-ups, quality, campaigns, dashboards
    ("POST", f"{BO}/residents/{{account_no}}/contact"): SUPERVISORS,
    ("GET", f"{BO}/audit"): SUPERVISORS,
    ("GET", f"{BO}/surveys"): SUPERVISORS,
    ("GET", f"{BO}/quality/stats"): SUPERVISORS,
    ("GET", f"{BO}/quality/flagged"): SUPERVISORS,
    ("GET", f"{BO}/quality/conversations/{{conversation_id}}"): SUPERVISORS,
    ("POST", f"{BO}/quality/run"): SUPERVISORS,
    ("POST", f"{BO}/campaigns/preview"): SUPERVISORS,
    ("POST", f"{BO}/campaigns"): SUPERVISORS,
    ("GET", f"{BO}/campaigns"): SUPERVISORS,
    ("GET", f"{BO}/campaigns/{{campaign_id}}"): SUPERVISORS,
    ("POST", f"{BO}/campaigns/{{campaign_id}}/send"): SUPERVISORS,
    ("GET", f"{BO}/dashboards/overview"): SUPERVISORS,
    ("GET", f"{BO}/dashboards/volumes"): SUPERVISORS,
    ("GET", f"{BO}/dashboards/volumes.png"): SUPERVISORS,
    ("GET", f"{BO}/dashboards/hot-topics"): SUPERVISORS,
    # knowledge base: agents may hit-test, supervisors read, only admins change what the bot says
    ("POST", f"{KB}/hit-test"): DESK,
    ("GET", f"{KB}/documents"): SUPERVISORS,
    ("GET", f"{KB}/documents/{{document_id}}"): SUPERVISORS,
    ("GET", f"{KB}/faqs"): SUPERVISORS,
    ("GET", f"{KB}/unanswered"): SUPERVISORS,
    ("GET", f"{KB}/hot-topics"): SUPERVISORS,
    ("GET", f"{KB}/proposals"): SUPERVISORS,
    ("GET", f"{KB}/proposals/{{proposal_id}}"): SUPERVISORS,
    ("POST", f"{KB}/documents"): ADMINS,
    ("PATCH", f"{KB}/documents/{{document_id}}"): ADMINS,
    ("POST", f"{KB}/documents/{{document_id}}/retire"): ADMINS,
    ("POST", f"{KB}/documents/{{document_id}}/restore"): ADMINS,
    ("POST", f"{KB}/faqs"): ADMINS,
    ("PATCH", f"{KB}/faqs/{{document_id}}"): ADMINS,
    ("POST", f"{KB}/upload"): ADMINS,
    ("POST", f"{KB}/hot-topics/mine"): ADMINS,
    ("POST", f"{KB}/proposals/{{proposal_id}}/approve"): ADMINS,
    ("POST", f"{KB}/proposals/{{proposal_id}}/reject"): ADMINS,
    # the repair worker's phone (admins have no worker row: not_a_worker)
    ("GET", "/api/v1/worker/route"): WORKERS,
    ("POST", "/api/v1/worker/assignments/{assignment_id}/accept"): WORKERS,
    ("POST", "/api/v1/worker/assignments/{assignment_id}/depart"): WORKERS,
    ("POST", "/api/v1/worker/assignments/{assignment_id}/arrive"): WORKERS,
    ("POST", "/api/v1/worker/assignments/{assignment_id}/photos"): WORKERS,
    ("POST", "/api/v1/worker/assignments/{assignment_id}/finish"): WORKERS,
    # WeChat official account
    ("GET", "/wechat"): SIGNED,
    ("POST", "/wechat"): SIGNED,
    # residents' chat: the web widget and the company app share the handlers
    **{(m, f"/api/v1/chat{s}"): roles for (m, s), roles in CHAT_SUFFIXES.items()},
    **{(m, f"/api/v1/app{s}"): roles for (m, s), roles in CHAT_SUFFIXES.items()},
}

# Bodies that let an allowed caller do real work. Knowledge-base writes keep an empty body (422)
# or a made-up id (404): the demo knowledge base is shared by the whole test session.
BODIES: dict[tuple[str, str], object] = {
    ("POST", "/api/v1/auth/login"): {"username": "agent1", "password": "warmline-agent"},
    ("POST", "/api/v1/classify"): {"text": "暖气不热"},
    ("POST", f"{BO}/conversations/{{conversation_id}}/reply"): {"text": "您好，已收到，马上处理。"},
    ("POST", f"{BO}/conversations/{{conversation_id}}/notes"): {"text": "核实中"},
    ("POST", f"{BO}/tickets/{{ticket_no}}/notes"): {"text": "已电话联系住户"},
    ("PUT", f"{BO}/messages/{{message_id}}/labels"): {"category": "no_heat"},
    ("POST", f"{BO}/residents/{{account_no}}/contact"): {"reason": "上门维修需核实门牌"},
    ("POST", f"{BO}/campaigns/preview"): {"target": {"community": "锦绣花园"}},
    ("POST", f"{BO}/tickets/{{ticket_no}}/transition"): {"status": "bogus", "reason": "测试"},
    ("POST", f"{BO}/tickets/{{ticket_no}}/reassign"): {"reason": "测试改派"},
    ("POST", f"{KB}/hit-test"): {"query": "暖气不热怎么办"},
    ("POST", "/api/v1/chat/sessions"): {"channel": "web"},
    ("POST", "/api/v1/app/sessions"): {"channel": "app"},
    ("POST", "/api/v1/chat/sessions/{session_id}/messages"): {"text": "供暖时间是什么时候"},
    ("POST", "/api/v1/app/sessions/{session_id}/messages"): {"text": "供暖时间是什么时候"},
    ("POST", "/api/v1/chat/sessions/{session_id}/messages/stream"): {"text": "你好"},
    ("POST", "/api/v1/app/sessions/{session_id}/messages/stream"): {"text": "你好"},
}
WECHAT_QUERY = {"signature": "0" * 40, "timestamp": "0", "nonce": "n1", "echostr": "e"}


def served_operations(app) -> set[tuple[str, str]]:
    """(method, path) of everything the app routes; HEAD rides on GET. A route without methods
    (a websocket, a mount) is listed as ``("*", path)`` so it cannot slip past the table."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI without included-router contexts: app.routes is already flat
        routes = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    operations: set[tuple[str, str]] = set()
    for route in routes:
        methods = set(getattr(route, "methods", None) or ()) - {"HEAD"}
        operations |= {(method, route.path) for method in methods} or {("*", route.path)}
    return operations


def test_the_table_lists_every_served_operation_and_nothing_else(settings) -> None:
    served = served_operations(create_app(settings, run_jobs=False))
    assert served - MATRIX.keys() == set(), "routes without a row in MATRIX: decide who may call them"
    assert MATRIX.keys() - served == set(), "rows in MATRIX for routes the app no longer serves"


def test_a_route_added_without_a_row_is_caught(settings) -> None:
    app = create_app(settings, run_jobs=False)

    async def export_everything() -> dict[str, str]:
        return {}

    app.add_api_route(f"{BO}/export-everything", export_everything, methods=["GET"])
    assert served_operations(app) - MATRIX.keys() == {("GET", f"{BO}/export-everything")}


async def _setup(client, demo_app, sessions) -> dict[str, object]:
    """Credentials for each role, and path values that exist in the demo company."""
    tokens: dict[str, str] = {}
    staff_ids: dict[str, str] = {}
    for role, (username, password) in LOGINS.items():
        login = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        tokens[role] = login.json()["token"]
    web = (
        await client.post(
            "/api/v1/chat/sessions",
            json={"channel": "web", "account_no": "2026010001", "phone_last4": "0001"},
        )
    ).json()
    app_session = (
        await client.post("/api/v1/app/sessions", json={"account_no": "2026010001", "phone_last4": "0001"})
    ).json()
    said = await client.post(
        f"/api/v1/chat/sessions/{web['session_id']}/messages",
        json={"text": "暖气不热"},
        headers={"Authorization": f"Bearer {web['token']}"},
    )
    assert said.status_code == 200, said.text
    owned: dict[str, str] = {}
    async with sessions() as session, session.begin():
        for role, (username, _) in LOGINS.items():
            staff_ids[role] = await session.scalar(select(StaffUser.id).where(StaffUser.username == username))
            opened = Conversation(channel="web", status="open", last_message_at=datetime.now(UTC))
            session.add(opened)
            await session.flush()
            owned[role] = opened.id
        message_id = await session.scalar(
            select(Message.id).where(Message.conversation_id == web["session_id"]).limit(1)
        )
        ticket_no = await session.scalar(select(Ticket.ticket_no).limit(1))
    now = demo_app.state.services.clock.now()
    stream_tickets = {
        role: issue_stream_ticket(
            demo_app.state.services.settings,
            StaffClaims(staff_id=staff_ids[role], role=role, name=role),
            now=now,
        )
        for role in LOGINS
    }
    return {
        "tokens": tokens,
        "web": web,
        "app": app_session,
        "owned": owned,
        "staff_ids": staff_ids,
        "stream_tickets": stream_tickets,
        "values": {
            "message_id": message_id,
            "ticket_no": ticket_no,
            "account_no": "2026010001",
            "name": "console.js",
        },
    }


def _request_for(role: str, method: str, path: str, ctx: dict) -> tuple[str, dict, dict, object]:
    """The concrete URL, headers, query and body this role sends to one operation."""
    chat = "app" if path.startswith("/api/v1/app/") else "web"
    values = {
        **ctx["values"],
        "conversation_id": ctx["owned"].get(role, ctx["web"]["session_id"]),
        "session_id": ctx[chat]["session_id"],
    }
    made_up = f"missing{uuid.uuid4().hex[:8]}"
    url = re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1)) or made_up), path)
    headers: dict[str, str] = {}
    if role == RESIDENT:
        headers["Authorization"] = f"Bearer {ctx['app' if chat == 'app' else 'web']['token']}"
    elif role != ANON:
        headers["Authorization"] = f"Bearer {ctx['tokens'][role]}"
    params: dict[str, str] = {}
    if path == f"{BO}/console/events":
        # The live stream takes a one-minute ticket in the URL instead of a header.
        headers.pop("Authorization", None)
        if role == RESIDENT:
            params["ticket"] = ctx["web"]["token"]
        elif role != ANON:
            params["ticket"] = ctx["stream_tickets"][role]
    if path == "/wechat":
        params = dict(WECHAT_QUERY, timestamp=str(int(datetime.now(UTC).timestamp())))
    body = BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
    return url, headers, params, body


async def test_every_cell_of_the_role_matrix_holds(client, demo_app, sessions) -> None:
    ctx = await _setup(client, demo_app, sessions)
    wrong: list[str] = []
    cells = 0
    for (method, path), allowed in sorted(MATRIX.items()):
        for role in ROLES:
            if role in ctx["owned"] and "{conversation_id}" in path:
                # Ownership is business logic, not a role: each staff member works their own conversation.
                async with sessions() as session, session.begin():
                    await session.execute(
                        update(Conversation)
                        .where(Conversation.id == ctx["owned"][role])
                        .values(owner_staff_id=ctx["staff_ids"][role], status="open")
                    )
            url, headers, params, body = _request_for(role, method, path, ctx)
            answer = await probe(demo_app, method, url, headers=headers, params=params, json_body=body)
            cells += 1
            if answer.status >= 500:
                wrong.append(f"{role:10} {method} {path} -> {answer.status} (server error)")
            elif role in allowed and answer.status in (401, 403):
                why = answer.body[:120]
                wrong.append(f"{role:10} {method} {path} -> {answer.status}, should be let through: {why!r}")
            elif role not in allowed and answer.status not in (401, 403):
                wrong.append(f"{role:10} {method} {path} -> {answer.status}, should be refused")
    assert cells == len(MATRIX) * len(ROLES)
    assert not wrong, f"{len(wrong)} of {cells} cells wrong:\n" + "\n".join(wrong)


async def test_the_wechat_url_opens_to_the_platform_signature_not_to_a_role(client) -> None:
    import hashlib

    timestamp, nonce = str(int(datetime.now(UTC).timestamp())), "abc123"
    signature = hashlib.sha1("".join(sorted(["warmline", timestamp, nonce])).encode()).hexdigest()
    ok = await client.get(
        "/wechat", params={"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "hello"}
    )
    assert (ok.status_code, ok.text) == (200, "hello")


async def test_a_deactivated_or_demoted_account_loses_its_powers_before_its_token_expires(
    client, sessions
) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"username": "supervisor", "password": "warmline-super"}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    assert (await client.get(f"{BO}/dashboards/overview", headers=headers)).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(
            update(StaffUser).where(StaffUser.username == "supervisor").values(role="agent")
        )
    assert (await client.get(f"{BO}/dashboards/overview", headers=headers)).status_code == 403
    assert (await client.get(f"{BO}/conversations", headers=headers)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["role"] == "agent"
    async with sessions() as session, session.begin():
        await session.execute(
            update(StaffUser).where(StaffUser.username == "supervisor").values(active=False)
        )
    refused = await client.get(f"{BO}/conversations", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("ticket", [None, "", "x.y.z"])
async def test_the_console_stream_without_a_valid_ticket_is_a_401(client, ticket) -> None:
    params = {} if ticket is None else {"ticket": ticket}
    assert (await client.get(f"{BO}/console/events", params=params)).status_code == 401


def test_the_published_openapi_operations_are_all_in_the_table(settings) -> None:
    # Two views of the same app: what OpenAPI tells clients must be a subset of what the table covers.
    paths = create_app(settings, run_jobs=False).openapi()["paths"]
    published = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert published and published <= MATRIX.keys()

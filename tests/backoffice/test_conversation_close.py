"""Ending conversations: an agent's close, the auto-close job, reopening, and quality inspection.

API tests run on the demo company with the FixedClock; the job tests plant conversations through the
services and move the clock.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from backoffice.conversation_jobs import conversation_jobs
from backoffice.deps import make_services
from tools.conversations.closing import AUTO_CLOSE_ACTOR, close_conversation, find_current_conversation
from tools.conversations.models import Conversation
from tools.conversations.service import Labels, append_message, open_conversation, request_handoff
from tools.crm.binding import get_or_create_identity
from tools.quality.models import QualityReview
from tools.quality.service import review_ended_conversations
from tools.staff.models import StaffUser

CONVERSATIONS = "/api/v1/backoffice/conversations"


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    password = {"supervisor": "warmline-super", "admin": "warmline-admin", "w001": "warmline-worker"}
    body = {"username": username, "password": password.get(username, "warmline-agent")}
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _resident_writes(
    client: httpx.AsyncClient, text: str, session: tuple[str, dict[str, str]] | None = None
) -> tuple[tuple[str, dict[str, str]], dict]:
    if session is None:
        body = {"channel": "web", "account_no": "2026010001", "phone_last4": "0001"}
        opened = (await client.post("/api/v1/chat/sessions", json=body)).json()
        session = (opened["session_id"], {"Authorization": f"Bearer {opened['token']}"})
    conversation_id, headers = session
    reply = await client.post(
        f"/api/v1/chat/sessions/{conversation_id}/messages", json={"text": text}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    return session, reply.json()


async def _staff_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return (await client.get("/api/v1/backoffice/console/bootstrap", headers=headers)).json()["staff_id"]


async def test_an_agent_closes_the_conversation_and_quality_inspection_then_scores_it(client, clock) -> None:
    (conversation_id, _), first = await _resident_writes(client, "转人工！暖气三天不热了，屋里才15度")
    assert first["handoff"] is True
    agent = await _login(client, "agent1")
    supervisor = await _login(client, "supervisor")
    base = f"{CONVERSATIONS}/{conversation_id}"
    assert (await client.post(f"{base}/take-over", headers=agent)).status_code == 200
    await client.post(f"{base}/reply", json={"text": "您好，马上为您安排师傅上门。"}, headers=agent)

    # Still open and recent: not ended, so quality inspection leaves it alone.
    await client.post("/api/v1/backoffice/quality/run", headers=supervisor)
    assert (
        await client.get(f"/api/v1/backoffice/quality/conversations/{conversation_id}", headers=supervisor)
    ).status_code == 404

    closed = await client.post(f"{base}/close", headers=agent)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["status"] == "closed" and body["owner"] == "bot"
    assert body["closed_by"] == f"staff:{await _staff_id(client, agent)}"
    assert body["closed_at"].startswith(clock.now().strftime("%Y-%m-%dT%H:%M"))
    mine = (await client.get("/api/v1/backoffice/console/mine", headers=agent)).json()
    assert conversation_id not in [c["id"] for c in mine]

    again = await client.post(f"{base}/close", headers=agent)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_closed"
    taken = await client.post(f"{base}/take-over", headers=await _login(client, "agent2"))
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "already_closed"

    assert (await client.post("/api/v1/backoffice/quality/run", headers=supervisor)).json()["reviewed"] >= 1
    review = await client.get(
        f"/api/v1/backoffice/quality/conversations/{conversation_id}", headers=supervisor
    )
    assert review.status_code == 200 and review.json()["handler"] == "agent"


async def test_only_the_owner_or_a_supervisor_closes_an_agents_conversation(client) -> None:
    (conversation_id, _), _ = await _resident_writes(client, "转人工，我要投诉")
    base = f"{CONVERSATIONS}/{conversation_id}"
    assert (await client.post(f"{base}/take-over", headers=await _login(client, "agent1"))).status_code == 200
    refused = await client.post(f"{base}/close", headers=await _login(client, "agent2"))
    assert refused.status_code == 403
    assert (await client.post(f"{base}/close", headers=await _login(client, "w001"))).status_code == 403
    assert (await client.post(f"{base}/close")).status_code == 401
    assert (
        await client.post(f"{CONVERSATIONS}/nope/close", headers=await _login(client, "agent2"))
    ).status_code == 404
    assert (await client.post(f"{base}/close", headers=await _login(client, "supervisor"))).status_code == 200


async def test_the_resident_writing_again_reopens_it_and_the_reopen_counts_as_a_repeat_contact(
    client, clock
) -> None:
    session, _ = await _resident_writes(client, "今年什么时候开始供暖")
    conversation_id = session[0]
    agent = await _login(client, "agent1")
    assert (await client.post(f"{CONVERSATIONS}/{conversation_id}/close", headers=agent)).status_code == 200

    clock.advance(timedelta(hours=3))
    _, reply = await _resident_writes(client, "暖气还是不热", session)
    assert reply["reply"]  # the bot answers: a close released the conversation to it
    detail = (await client.get(f"{CONVERSATIONS}/{conversation_id}", headers=agent)).json()
    assert detail["status"] == "open" and detail["reopen_count"] == 1
    assert detail["closed_at"] is None and detail["closed_by"] is None
    assert [m["text"] for m in detail["messages"] if m["sender"] == "resident"] == [
        "今年什么时候开始供暖",
        "暖气还是不热",
    ]

    assert (await client.post(f"{CONVERSATIONS}/{conversation_id}/close", headers=agent)).status_code == 200
    supervisor = await _login(client, "supervisor")
    await client.post("/api/v1/backoffice/quality/run", headers=supervisor)
    review = (
        await client.get(f"/api/v1/backoffice/quality/conversations/{conversation_id}", headers=supervisor)
    ).json()
    resolution = next(rule for rule in review["rules"] if rule["rule"] == "resolution")
    assert "再次来访" in resolution["detail"]


async def _plant(
    sessions, clock, *, text: str, hours_ago: float, handoff: bool = False, owner: str | None = None
) -> str:
    """A conversation whose last message was ``hours_ago`` before the clock's now."""
    now = clock.now()
    clock.set(now - timedelta(hours=hours_ago))
    try:
        async with sessions() as session, session.begin():
            conversation = await open_conversation(session, channel="web", clock=clock)
            labels = Labels("no_heat", "anxious", "normal", 0.9)
            await append_message(
                session, conversation=conversation, sender="resident", text=text, clock=clock, labels=labels
            )
            await append_message(
                session, conversation=conversation, sender="bot", text="已收到，正在处理。", clock=clock
            )
            if handoff:
                await request_handoff(
                    session, conversation=conversation, summary="住户要求转人工", clock=clock
                )
            conversation.owner_staff_id = owner
    finally:
        clock.set(now)
    return conversation.id


async def test_the_job_closes_idle_conversations_but_never_a_resident_waiting_for_a_human(
    settings, sessions, clock, demo_kb
) -> None:
    async with sessions() as session, session.begin():
        agent = StaffUser(username="agent9", display_name="客服九号", password_hash="x", role="agent")
        session.add(agent)
    idle = await _plant(sessions, clock, text="暖气不热", hours_ago=5)
    owned = await _plant(sessions, clock, text="转人工", hours_ago=6, handoff=True, owner=agent.id)
    waiting = await _plant(sessions, clock, text="转人工！", hours_ago=5, handoff=True)
    recent = await _plant(sessions, clock, text="暖气有点凉", hours_ago=1)
    legacy = await _plant(sessions, clock, text="转人工，没人管吗", hours_ago=30, handoff=True)

    services = make_services(settings.model_copy(update={"conversation_auto_close_hours": 4}), clock=clock)
    try:
        (job,) = conversation_jobs(kb=demo_kb)
        assert await job.run(services) == {"closed": 2, "kb_proposals": 0}
        assert await job.run(services) is None  # nothing left to close
    finally:
        await services.engine.dispose()

    async with sessions() as session:
        rows = {c.id: c for c in await session.scalars(select(Conversation))}
        for closed in (idle, owned):
            assert rows[closed].status == "closed" and rows[closed].closed_by == AUTO_CLOSE_ACTOR
            assert rows[closed].closed_at == clock.now() and rows[closed].owner_staff_id is None
        assert {rows[c].status for c in (waiting, recent, legacy)} == {"open"}

    # Quality inspection: the closed ones, and the legacy conversation idle for more than a day.
    async with sessions() as session, session.begin():
        assert await review_ended_conversations(session, clock=clock) == 3
    async with sessions() as session:
        reviewed = set(await session.scalars(select(QualityReview.conversation_id)))
    assert reviewed == {idle, owned, legacy}


async def test_wechat_continues_a_recently_closed_conversation_and_starts_afresh_later(
    sessions, clock
) -> None:
    window = timedelta(hours=48)
    async with sessions() as session, session.begin():
        identity = await get_or_create_identity(session, channel="wechat", external_id="o-test-openid")
        assert (
            await find_current_conversation(
                session, identity_id=identity.id, clock=clock, reopen_within=window
            )
            is None
        )
        conversation = await open_conversation(
            session, channel="wechat", identity_id=identity.id, clock=clock
        )
        found = await find_current_conversation(
            session, identity_id=identity.id, clock=clock, reopen_within=window
        )
        assert found is conversation
        await close_conversation(session, conversation=conversation, clock=clock, closed_by="staff:x")

        clock.advance(timedelta(hours=47))
        found = await find_current_conversation(
            session, identity_id=identity.id, clock=clock, reopen_within=window
        )
        assert found is conversation
        await append_message(
            session, conversation=conversation, sender="resident", text="还是不热", clock=clock
        )
        assert conversation.status == "open" and conversation.reopen_count == 1

        await close_conversation(session, conversation=conversation, clock=clock)
        clock.advance(timedelta(hours=49))
        assert (
            await find_current_conversation(
                session, identity_id=identity.id, clock=clock, reopen_within=window
            )
            is None
        )
        # A bot or agent message never reopens: only the resident writing again does.
        await append_message(session, conversation=conversation, sender="bot", text="回访", clock=clock)
        assert conversation.status == "closed"

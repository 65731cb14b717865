"""``POST /api/v1/classify`` and staff label corrections, through the public HTTP API."""

import httpx
from sqlalchemy import select

from agent.inbound import InboundMessage
from tools.conversations.models import Message
from tools.conversations.service import open_conversation
from tools.db import transaction
from tools.labeling.models import LabelCorrection
from tools.labeling.service import correction_examples


async def _staff(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_classify_returns_the_design_labels_for_a_message(client) -> None:
    response = await client.post("/api/v1/classify", json={"text": "家里暖气管爆了，水淹了！"})
    assert response.status_code == 200
    body = response.json()
    assert (body["category"], body["urgency"]) == ("leak", "emergency")
    assert 0 < body["confidence"] <= 1 and body["emotion"] in ("anxious", "angry")
    assert body["urgency_reasons"]


async def test_classify_rejects_empty_blank_and_oversized_text_with_422(client) -> None:
    for body in ({"text": ""}, {"text": "   "}, {"text": "暖" * 2001}, {}, {"text": 5}):
        assert (await client.post("/api/v1/classify", json=body)).status_code == 422, body


async def test_an_agent_corrects_a_message_and_the_correction_is_kept_for_retraining(
    client, demo_app, sessions, clock
) -> None:
    async with transaction(sessions) as session:
        conversation = await open_conversation(session, channel="web", clock=clock)
    reply = await demo_app.state.agent.respond(
        InboundMessage(conversation_id=conversation.id, text="行吧，给个好评，反正也没人管")
    )
    agent = await _staff(client, "agent1", "warmline-agent")
    url = f"/api/v1/backoffice/messages/{reply.message_id}/labels"
    fixed = await client.put(url, json={"category": "complaint", "emotion": "dissatisfied"}, headers=agent)
    assert fixed.status_code == 200, fixed.text
    async with sessions() as session:
        message = await session.get(Message, reply.message_id)
        corrections = list(await session.scalars(select(LabelCorrection)))
        examples = await correction_examples(session)
    assert (message.category, message.emotion) == ("complaint", "dissatisfied")
    assert len(corrections) == 1 and corrections[0].staff_id == fixed.json()["staff_id"]
    assert examples[0]["text"] == "行吧，给个好评，反正也没人管" and examples[0]["category"] == "complaint"


async def test_label_corrections_need_a_console_role_and_valid_labels(
    client, demo_app, sessions, clock
) -> None:
    async with transaction(sessions) as session:
        conversation = await open_conversation(session, channel="web", clock=clock)
    reply = await demo_app.state.agent.respond(
        InboundMessage(conversation_id=conversation.id, text="暖气不热")
    )
    url = f"/api/v1/backoffice/messages/{reply.message_id}/labels"
    assert (await client.put(url, json={"category": "leak"})).status_code == 401
    worker = await _staff(client, "w001", "warmline-worker")
    assert (await client.put(url, json={"category": "leak"}, headers=worker)).status_code == 403
    agent = await _staff(client, "agent1", "warmline-agent")
    assert (await client.put(url, json={"category": "nonsense"}, headers=agent)).status_code == 422
    assert (await client.put(url, json={}, headers=agent)).status_code == 422
    missing = "/api/v1/backoffice/messages/nope/labels"
    assert (await client.put(missing, json={"category": "leak"}, headers=agent)).status_code == 404

"""Consumption caps and model outages: a flood or a dead LLM endpoint still leaves every resident answered.

The outage test drives the real ``langchain-openai`` client against an endpoint that answers 429
or times out (an httpx transport standing in for the network), so the fallback is exercised on
the exceptions production raises, not on ones we made up.
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from sqlalchemy import func, select

from agent.limits import MessageRateLimiter
from backoffice.app import create_app
from tools.conversations.models import Message
from tools.demo.seed import seed_demo
from tools.errors import RateLimited
from tools.tickets.models import Ticket


async def _open(client: httpx.AsyncClient, **body) -> tuple[str, dict[str, str]]:
    response = await client.post("/api/v1/chat/sessions", json={"channel": "web", **body})
    assert response.status_code == 201, response.text
    data = response.json()
    return data["session_id"], {"Authorization": f"Bearer {data['token']}"}


async def _post(client, session_id, headers, text: str, **extra) -> httpx.Response:
    return await client.post(
        f"/api/v1/chat/sessions/{session_id}/messages", json={"text": text, **extra}, headers=headers
    )


async def test_a_flooding_resident_is_refused_with_429_and_refused_messages_are_not_stored(
    client, sessions, settings
) -> None:
    session_id, headers = await _open(client)
    limit = settings.chat_rate_per_minute
    for n in range(limit):
        assert (await _post(client, session_id, headers, f"你好{n}")).status_code == 200
    refused = await _post(client, session_id, headers, "你好，还在吗")
    assert refused.status_code == 429
    assert "太快" in refused.json()["error"]["message"]
    async with sessions() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender == "resident")
        )
    assert stored == limit
    other, other_headers = await _open(client)  # another resident is not affected
    assert (await _post(client, other, other_headers, "暖气费多少钱一平")).status_code == 200


async def test_a_client_retry_of_an_accepted_message_is_not_counted_against_the_limit(
    client, settings
) -> None:
    session_id, headers = await _open(client)
    for _ in range(settings.chat_rate_per_minute + 5):
        response = await _post(client, session_id, headers, "暖气费多少钱一平", client_message_id="m-1")
        assert response.status_code == 200


async def test_an_overlong_message_is_a_clear_422_and_nothing_is_stored(client, sessions) -> None:
    session_id, headers = await _open(client)
    response = await _post(client, session_id, headers, "暖" * 20_000)
    assert response.status_code == 422
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_the_window_counts_distinct_messages_and_slides(backend: str) -> None:
    redis_url = "redis://127.0.0.1:6379/11" if backend == "redis" else None
    limiter = MessageRateLimiter(3, redis_url)
    conversation = f"conv-{backend}-{id(limiter)}"
    try:
        for n in range(3):
            await limiter.admit(conversation, f"m{n}", now=1000.0 + n)
        await limiter.admit(conversation, "m1", now=1003.0)  # a retry: same id, not a new message
        with pytest.raises(RateLimited):
            await limiter.admit(conversation, "m3", now=1003.0)
        await limiter.admit(conversation, "m4", now=1061.0)  # m0 left the window
    finally:
        await limiter.close()


def _failing_endpoint() -> tuple[httpx.AsyncClient, list[str]]:
    """An OpenAI-compatible endpoint in an outage: 429s alternating with read timeouts."""
    outcomes = itertools.cycle(["429", "timeout", "503"])
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        seen.append(outcome)
        if outcome == "timeout":
            raise httpx.ReadTimeout("model timed out", request=request)
        status = int(outcome)
        return httpx.Response(status, json={"error": {"message": "overloaded", "type": "rate_limit"}})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), seen


@pytest.fixture
async def outage_app(settings, clock, sessions, demo_kb, shared_classifier):
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    http, seen = _failing_endpoint()
    model = ChatOpenAI(
        model="qwen2.5-7b-instruct",
        base_url="http://llm.invalid/v1",
        api_key="not-needed",
        max_retries=0,
        http_async_client=http,
    )
    app: FastAPI = create_app(
        settings, clock=clock, kb=demo_kb, classifier=shared_classifier, model=model, run_jobs=False
    )
    async with app.router.lifespan_context(app):
        yield app, seen
    await http.aclose()


async def test_a_model_outage_still_answers_every_message_or_opens_a_ticket(outage_app, sessions) -> None:
    app, seen = outage_app
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    messages = ["暖气费多少钱一平", "在哪交费", "今年什么时候开始供暖", "家里暖气管爆了，水流了一地"]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        replies = []
        for text in messages:
            session_id, headers = await _open(client, account_no="2026010001", phone_last4="0001")
            response = await _post(client, session_id, headers, text)
            assert response.status_code == 200, response.text
            replies.append(response.json())
    assert {"429", "timeout", "503"} <= set(seen)  # the endpoint really was tried and failed each way
    assert all(reply["reply"] for reply in replies)
    assert "26.00" in replies[0]["reply"]  # the offline policy answered from the KB
    assert replies[3]["ticket"] or replies[3]["handoff"]  # the burst pipe was not left unanswered
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) >= 1 or replies[3]["handoff"]

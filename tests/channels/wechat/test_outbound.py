"""Outbox delivery to WeChat through a local fake of its HTTP API (customer-service, template, token)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.delivery import make_outbox_delivery
from channels.delivery import OutboxDelivery, RetryPolicy
from channels.wechat.client import WeChatApi
from channels.wechat.sender import WeChatSender
from tests.channels.wechat.conftest import bind_openid
from tools.crm.models import Account
from tools.db import transaction
from tools.outbox import OutboxMessage, enqueue
from tools.tickets.service import create_or_attach, transition

OPENID = "oWX_resident_0001"


async def _rows(sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


async def _ticket_progress(sessions, clock, settings, account_id: str) -> str:
    async with transaction(sessions) as session:
        outcome = await create_or_attach(
            session,
            account_id=account_id,
            category="no_heat",
            urgency="normal",
            description="卧室暖气不热",
            clock=clock,
            settings=settings,
        )
        ticket = outcome.ticket
        await transition(
            session, ticket, "已派工", clock=clock, message="已派王师傅上门", worker_name="王建国"
        )
        return ticket.ticket_no


async def test_ticket_progress_reaches_the_bound_resident_once_by_customer_service_message(
    wx_app, wx_settings, sessions, clock, wechat_api
) -> None:
    account_id = await bind_openid(sessions, OPENID)
    ticket_no = await _ticket_progress(sessions, clock, wx_settings, account_id)
    delivery = wx_app.state.delivery
    await delivery.run_due()
    await delivery.run_due()  # a second pass finds nothing to send
    rows = [row for row in await _rows(sessions) if row.kind == "ticket_progress"]
    texts = wechat_api.sent_texts()
    assert rows and all(row.status == "sent" and row.channel == "wechat" for row in rows)
    assert len(texts) == len(rows) and {openid for openid, _ in texts} == {OPENID}
    assert any(f"工单{ticket_no}" in text and "王师傅" in text for _, text in texts)


async def test_out_of_the_48h_window_falls_back_to_the_configured_template(
    wx_app, wx_settings, sessions, clock, wechat_api
) -> None:
    account_id = await bind_openid(sessions, OPENID)
    async with transaction(sessions) as session:
        await enqueue(
            session,
            clock=clock,
            kind="ticket_progress",
            text="【报修进度】工单T001：师傅已出发",
            account_id=account_id,
            payload={"ticket_no": "T001", "status": "师傅已出发"},
        )
        await enqueue(session, clock=clock, kind="care", text="寒潮来袭，请注意保暖", account_id=account_id)
    wechat_api.fail_next("message/custom/send", errcode=45015, times=2)
    await wx_app.state.delivery.run_due()
    templates = wechat_api.sent_templates()
    assert len(templates) == 1 and templates[0]["template_id"] == "TPL-PROGRESS"
    assert templates[0]["touser"] == OPENID and templates[0]["data"]["keyword1"]["value"] == "T001"
    by_kind = {row.kind: row for row in await _rows(sessions)}
    assert by_kind["ticket_progress"].status == "sent"
    assert by_kind["ticket_progress"].receipt[f"wechat:{OPENID}"]["via"] == "template"
    # A care message has no template by WeChat's rules: recorded as failed, not retried forever.
    assert by_kind["care"].status == "failed" and "48小时" in by_kind["care"].last_error
    assert wechat_api.sent_texts() == []


async def test_a_5xx_is_retried_later_with_backoff_then_sent(wx_app, sessions, clock, wechat_api) -> None:
    account_id = await bind_openid(sessions, OPENID)
    async with transaction(sessions) as session:
        await enqueue(session, clock=clock, kind="notice", text="明日试压通知", account_id=account_id)
    wechat_api.fail_next("message/custom/send", status=502)
    delivery = wx_app.state.delivery
    await delivery.run_due()
    (row,) = await _rows(sessions)
    assert row.status == "pending" and row.attempts == 1 and "502" in row.last_error
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert await delivery.run_due() == {}  # not due yet
    clock.advance(timedelta(seconds=31))
    assert await delivery.run_due() == {"sent": 1}
    (row,) = await _rows(sessions)
    assert row.status == "sent" and row.attempts == 2 and row.last_error is None
    assert wechat_api.sent_texts() == [(OPENID, "明日试压通知")]


async def test_delivery_gives_up_after_max_attempts_with_the_error_recorded(
    wx_app, wx_settings, sessions, clock, wechat_api
) -> None:
    account_id = await bind_openid(sessions, OPENID)
    async with transaction(sessions) as session:
        await enqueue(session, clock=clock, kind="notice", text="停热检修通知", account_id=account_id)
    wechat_api.fail_next("message/custom/send", status=503, times=10)
    services = wx_app.state.services
    delivery = make_outbox_delivery(services, wx_app.state.events)
    delivery.policy = RetryPolicy(max_attempts=3)
    for _ in range(3):
        await delivery.run_due()
        clock.advance(timedelta(hours=2))
    (row,) = await _rows(sessions)
    assert row.status == "failed" and row.attempts == 3 and "503" in row.last_error
    assert await delivery.run_due() == {}


async def test_an_account_without_any_bound_channel_is_undeliverable(wx_app, sessions, clock) -> None:
    async with transaction(sessions) as session:
        account_id = await session.scalar(select(Account.id).where(Account.account_no == "2026010002"))
        await enqueue(session, clock=clock, kind="notice", text="通知", account_id=account_id)
    assert await wx_app.state.delivery.run_due() == {"undeliverable": 1}


async def test_concurrent_delivery_runs_send_each_message_exactly_once(
    wx_app, wx_settings, sessions, clock, wechat_api
) -> None:
    wechat_api.latency_s = 0.02
    openids = [f"oWX_race_{i:03d}" for i in range(30)]
    for index, openid in enumerate(openids):
        await bind_openid(sessions, openid, account_no=f"202601000{index % 8 + 1}")
    async with transaction(sessions) as session:
        for openid in openids:
            await enqueue(
                session,
                clock=clock,
                kind="notice",
                text=f"致{openid}",
                payload={"channel": "wechat", "external_id": openid},
            )
    services = wx_app.state.services
    workers = [
        OutboxDelivery(
            sessions=services.sessions,
            clock=clock,
            senders={"wechat": WeChatSender(WeChatApi.from_settings(wx_settings))},
            batch=10,
        )
        for _ in range(3)
    ]
    for _ in range(4):
        await asyncio.gather(*(worker.run_due() for worker in workers))
    sent = wechat_api.sent_texts()
    assert sorted(sent) == sorted((openid, f"致{openid}") for openid in openids)
    assert all(row.status == "sent" and row.attempts == 1 for row in await _rows(sessions))


async def test_the_access_token_is_cached_and_refreshed_once_on_40001(wx_settings, wechat_api) -> None:
    api = WeChatApi.from_settings(wx_settings)
    for index in range(3):
        await api.send_text(OPENID, f"第{index}条")
    assert len(wechat_api.of("token")) == 1
    wechat_api.expire_tokens()
    await api.send_text(OPENID, "令牌过期后")
    assert len(wechat_api.of("token")) == 2
    assert [text for _, text in wechat_api.sent_texts()][-1] == "令牌过期后"
    first = wechat_api.of("token")[0].query
    assert first["appid"] == wx_settings.wechat_app_id and first["secret"] == "test-secret"


@pytest.mark.parametrize("redis_backed", [False, True])
async def test_workers_sharing_redis_share_one_token(wx_settings, wechat_api, redis_backed) -> None:
    import redis

    url = "redis://127.0.0.1:6379/15" if redis_backed else None
    if url:
        redis.Redis.from_url(url).flushdb()
    settings = wx_settings.model_copy(update={"redis_url": url})
    one, two = WeChatApi.from_settings(settings), WeChatApi.from_settings(settings)
    await one.send_text(OPENID, "A")
    await two.send_text(OPENID, "B")
    assert len(wechat_api.of("token")) == (1 if redis_backed else 2)

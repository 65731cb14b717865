"""Forged and replayed WeChat pushes are refused before any turn runs, in both server modes.

Traffic is built with wechatpy's own crypto. Plaintext mode's signature covers only
token/timestamp/nonce, so a captured URL is the attacker's best tool there: the freshness window and
the (timestamp, nonce) cache must stop it. In 安全模式 ``msg_signature`` covers the encrypted body and
only the decrypted XML is trusted, so plaintext fields an attacker adds to the envelope count for nothing.
"""

from __future__ import annotations

import base64
import os
import time

import httpx
import pytest
import xmltodict
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from backoffice.app import create_app
from tests.channels.wechat.test_official_account import APP_ID, OPENID, TOKEN, signed_query, text_xml
from tools.conversations.models import Message
from tools.crm.models import ChannelIdentity
from tools.demo.seed import seed_demo


async def _turns(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender == "resident")
        )


async def _push(client: httpx.AsyncClient, query: dict[str, str], body: str) -> httpx.Response:
    return await client.post("/wechat", params=query, content=body.encode())


async def test_plaintext_mode_refuses_replays_swapped_bodies_and_clock_skew(client, sessions) -> None:
    captured = signed_query()
    assert (await _push(client, captured, text_xml("暖气不热", "7001"))).status_code == 200
    attempts = {
        "captured URL, swapped body": await _push(client, captured, text_xml("帮我查别人的账单", "7002")),
        "captured URL, same body": await _push(client, captured, text_xml("暖气不热", "7001")),
        "timestamp 301 s old": await _push(
            client, signed_query(timestamp=int(time.time()) - 301), text_xml("暖气不热", "7003")
        ),
        "timestamp 301 s ahead": await _push(
            client, signed_query(timestamp=int(time.time()) + 301), text_xml("暖气不热", "7004")
        ),
        "wrong token": await _push(client, signed_query("not-our-token"), text_xml("暖气不热", "7005")),
        "signature of another nonce": await _push(
            client, {**signed_query(), "nonce": "other"}, text_xml("暖气不热", "7006")
        ),
    }
    assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 403)
    assert await _turns(sessions) == 1


@pytest.fixture
def aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]


@pytest.fixture
async def safe_client(settings, clock, sessions, demo_kb, shared_classifier, aes_key):
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    secure = settings.model_copy(update={"wechat_aes_key": aes_key})
    app = create_app(secure, clock=clock, kb=demo_kb, classifier=shared_classifier, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _sealed(crypto: WeChatCrypto, xml: str, query: dict[str, str]) -> tuple[str, str]:
    envelope = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
    return envelope, xmltodict.parse(envelope)["xml"]["MsgSignature"]


async def test_safe_mode_refuses_forgeries_and_ignores_plaintext_fields(
    safe_client, sessions, aes_key
) -> None:
    crypto = WeChatCrypto(TOKEN, aes_key, APP_ID)
    query = signed_query()
    envelope, signature = _sealed(crypto, text_xml("暖气不热", "8001"), query)
    other, _ = _sealed(crypto, text_xml("把3号楼的户主电话发我", "8002"), query)
    stranger = WeChatCrypto(TOKEN, base64.b64encode(os.urandom(32)).decode()[:-1], APP_ID)
    foreign_query = signed_query()
    foreign, foreign_signature = _sealed(stranger, text_xml("暖气不热", "8003"), foreign_query)
    stale_query = signed_query(timestamp=int(time.time()) - 400)
    stale, stale_signature = _sealed(crypto, text_xml("暖气不热", "8004"), stale_query)
    attempts = {
        "another encrypted body under a captured msg_signature": await _push(
            safe_client, {**signed_query(), "msg_signature": signature}, other
        ),
        "plaintext body": await _push(safe_client, signed_query(), text_xml("暖气不热", "8005")),
        "no msg_signature": await _push(safe_client, signed_query(), envelope),
        "sealed with another account's key": await _push(
            safe_client, {**foreign_query, "msg_signature": foreign_signature}, foreign
        ),
        "stale timestamp, valid seal": await _push(
            safe_client, {**stale_query, "msg_signature": stale_signature}, stale
        ),
    }
    codes = {name: r.status_code for name, r in attempts.items()}
    undecryptable = codes.pop("sealed with another account's key")
    assert codes == dict.fromkeys(codes, 403) and 400 <= undecryptable < 500
    assert await _turns(sessions) == 0

    # Plaintext fields added beside <Encrypt> claim another sender and content; only the sealed ones count.
    decorated = envelope.replace(
        "</xml>",
        "<FromUserName><![CDATA[attacker-openid]]></FromUserName><Content><![CDATA[转人工并退款]]></Content></xml>",
    )
    accepted = await _push(safe_client, {**query, "msg_signature": signature}, decorated)
    assert accepted.status_code == 200
    async with sessions() as session:
        texts = (await session.scalars(select(Message.text).where(Message.sender == "resident"))).all()
        openids = set((await session.scalars(select(ChannelIdentity.external_id))).all())
    assert texts == ["暖气不热"]
    assert OPENID in openids and "attacker-openid" not in openids
    replay = await _push(safe_client, {**query, "msg_signature": signature}, envelope)
    assert replay.status_code == 403 and await _turns(sessions) == 1

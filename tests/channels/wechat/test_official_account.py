"""The official account endpoint, driven by traffic built with wechatpy's own crypto and formats."""

import base64
import hashlib
import os
import time
import uuid

import httpx
import pytest
import xmltodict
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from backoffice.app import create_app
from tools.conversations.models import Message
from tools.demo.seed import seed_demo

TOKEN = "warmline"
APP_ID = "wx0000000000000000"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def signed_query(token: str = TOKEN, *, timestamp: int | None = None) -> dict[str, str]:
    timestamp_s, nonce = str(timestamp or int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([token, timestamp_s, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp_s, "nonce": nonce}


def text_xml(content: str, msg_id: str, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_hengnuan]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_hengnuan]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event></xml>"
    )


def content_of(response: httpx.Response) -> str:
    return xmltodict.parse(response.text)["xml"]["Content"]


async def _post(client, body: str | bytes, **query) -> httpx.Response:
    params = {**signed_query(), **query}
    return await client.post(
        "/wechat", params=params, content=body if isinstance(body, bytes) else body.encode()
    )


async def _resident_messages(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(Message).where(Message.sender == "resident")
        )


async def test_url_verification_echoes_only_for_a_valid_fresh_signature(client) -> None:
    ok = await client.get("/wechat", params={**signed_query(), "echostr": "hello123"})
    assert ok.status_code == 200 and ok.text == "hello123"
    forged = await client.get("/wechat", params={**signed_query("not-our-token"), "echostr": "x"})
    assert forged.status_code == 403
    stale = await client.get(
        "/wechat", params={**signed_query(timestamp=int(time.time()) - 3600), "echostr": "x"}
    )
    assert stale.status_code == 403


async def test_a_text_message_gets_a_passive_reply_and_a_retry_is_not_a_second_turn(client, sessions) -> None:
    first = await _post(client, text_xml("暖气费多少钱一平", "1001"))
    assert first.status_code == 200 and "26.00" in content_of(first)
    retry = await _post(client, text_xml("暖气费多少钱一平", "1001"))
    assert content_of(retry) == content_of(first)
    assert await _resident_messages(sessions) == 1


async def test_subscribe_welcomes_and_binding_links_the_openid(client) -> None:
    welcome = await _post(client, event_xml("subscribe"))
    assert "绑定" in content_of(welcome)
    wrong = await _post(client, text_xml("绑定 2026010001 9999", "2001"))
    assert "不正确" in content_of(wrong)
    bound = await _post(client, text_xml("绑定 2026010001 0001", "2002"))
    assert "绑定成功" in content_of(bound)
    progress = await _post(client, text_xml("师傅什么时候来", "2003"))
    assert "报修记录" in content_of(
        progress
    )  # the bound account has no ticket yet: its own data, not a refusal


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>broken",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<xml>&lol2;</xml>",
        b"<xml><MsgType>text</MsgType></xml>",
    ],
)
async def test_malformed_and_hostile_xml_is_a_4xx_with_no_turn(client, sessions, body) -> None:
    response = await _post(client, body)
    assert 400 <= response.status_code < 500
    assert await _resident_messages(sessions) == 0


async def test_oversized_bodies_and_reused_nonces_are_refused(client) -> None:
    assert (await _post(client, b"<xml>" + b"a" * 70_000 + b"</xml>")).status_code == 413
    query = signed_query()
    body = text_xml("你好", "3001").encode()
    assert (await client.post("/wechat", params=query, content=body)).status_code == 200
    assert (await client.post("/wechat", params=query, content=body)).status_code == 403


@pytest.fixture
def aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]


@pytest.fixture
async def encrypted_client(settings, clock, sessions, demo_kb, shared_classifier, aes_key):
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    secure = settings.model_copy(update={"wechat_aes_key": aes_key})
    app = create_app(secure, clock=clock, kb=demo_kb, classifier=shared_classifier, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_safe_mode_trusts_only_the_decrypted_body(encrypted_client, sessions, aes_key) -> None:
    crypto = WeChatCrypto(TOKEN, aes_key, APP_ID)
    query = signed_query()
    envelope = crypto.encrypt_message(text_xml("什么时候供暖", "4001"), query["nonce"], query["timestamp"])
    msg_signature = xmltodict.parse(envelope)["xml"]["MsgSignature"]
    response = await encrypted_client.post(
        "/wechat", params={**query, "msg_signature": msg_signature}, content=envelope.encode()
    )
    assert response.status_code == 200
    reply = xmltodict.parse(response.text)["xml"]
    decrypted = crypto.decrypt_message(
        response.text, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
    )
    assert "11月15日" in xmltodict.parse(decrypted)["xml"]["Content"]
    plaintext = await _post(encrypted_client, text_xml("什么时候供暖", "4002"))
    assert plaintext.status_code == 403
    tampered = envelope.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    forged = await encrypted_client.post(
        "/wechat", params={**signed_query(), "msg_signature": msg_signature}, content=tampered.encode()
    )
    assert forged.status_code == 403
    assert await _resident_messages(sessions) == 1

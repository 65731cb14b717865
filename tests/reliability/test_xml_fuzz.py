"""Hypothesis-generated XML at both XML webhooks, plus the crashes the fuzzer found.

The official account gets genuinely signed traffic (plaintext signature, or 安全模式 with a valid
``msg_signature`` over the encrypted body), so garbage reaches the parser; the payment callback gets
bodies built around a real order. A few hundred bodies here; ``warmline eval fuzz`` sends thousands.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from backoffice.app import create_app
from evals.reliability.company import DEMO_ACCOUNT, FuzzCompany, make_company
from evals.reliability.xml_bodies import MUST_REFUSE
from evals.reliability.xml_fuzz import (
    XmlFuzzReport,
    format_xml_report,
    random_aes_key,
    run_pay_fuzz,
    run_wechat_fuzz,
)
from tests.kb.fakes import make_fake_kb
from tools.conversations.models import Message
from tools.db import transaction
from tools.demo.seed import seed_demo


def _company(tmp_path: Path, database_factory, classifier, **overrides) -> FuzzCompany:
    return make_company(
        tmp_path,
        make_app=create_app,
        migrate=lambda _settings: None,
        kb=make_fake_kb(tmp_path / "kb"),
        classifier=classifier,
        database_url=database_factory.new_url(),
        **overrides,
    )


@pytest.fixture
def company(tmp_path: Path, database_factory, shared_classifier) -> FuzzCompany:
    return _company(tmp_path, database_factory, shared_classifier)


def _assert_clean(report: XmlFuzzReport, kinds: set[str]) -> None:
    text = "\n".join(format_xml_report(report))
    assert report.server_errors == 0, text
    assert report.violations == 0, text
    assert report.control_ok, text
    sent = {kind.split("+")[0] for kind, stats in report.kinds.items() if stats.sent}
    assert kinds <= sent, text  # every kind of bad body was really tried


def test_official_account_survives_generated_bodies_in_plaintext_mode(company: FuzzCompany) -> None:
    report = run_wechat_fuzz(
        company.app, token=company.settings.wechat_token, app_id=company.settings.wechat_app_id,
        aes_key=None, examples=160,
    )  # fmt: skip
    _assert_clean(report, {*MUST_REFUSE, "valid", "typed", "missing"})


def test_official_account_survives_generated_bodies_in_safe_mode(
    tmp_path: Path, database_factory, shared_classifier
) -> None:
    aes_key = random_aes_key()
    company = _company(tmp_path, database_factory, shared_classifier, wechat_aes_key=aes_key)
    report = run_wechat_fuzz(
        company.app, token=company.settings.wechat_token, app_id=company.settings.wechat_app_id,
        aes_key=aes_key, examples=100, run_seed=2,
    )  # fmt: skip
    _assert_clean(report, {*MUST_REFUSE, "valid"})


def test_payment_callback_refuses_generated_bodies_without_touching_the_ledger(company: FuzzCompany) -> None:
    report = run_pay_fuzz(company.settings, clock=company.clock, examples=300, account_no=DEMO_ACCOUNT[0])
    _assert_clean(report, {*MUST_REFUSE, "mutated", "signed_garbage", "forged"})


# --- regressions for what the fuzzer found -------------------------------------------------------


def _signed(token: str = "warmline") -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:12]
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def _push(fields: str) -> bytes:
    head = (
        "<ToUserName><![CDATA[gh_hengnuan]]></ToUserName>"
        "<FromUserName><![CDATA[oRegression00000000000000001]]></FromUserName>"
    )
    return f"<xml>{head}<CreateTime>{int(time.time())}</CreateTime>{fields}</xml>".encode()


@pytest.fixture
async def client(
    settings, clock, sessions, shared_classifier, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The demo company over HTTP, on an empty fake knowledge base (fast to build)."""
    async with transaction(sessions) as session:
        await seed_demo(session, clock=clock)
    app = create_app(
        settings, clock=clock, kb=make_fake_kb(tmp_path / "kb"), classifier=shared_classifier, run_jobs=False
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _resident_messages(sessions) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Message).where(Message.sender == "resident")
        return int(await session.scalar(query) or 0)


async def test_a_menu_click_is_answered_not_a_crash(client: httpx.AsyncClient) -> None:
    # wechatpy's ``time`` is CreateTime as an int; the event's dedupe key called .timestamp() on it.
    body = _push(
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey>BILL</EventKey>"
    )
    response = await client.post("/wechat", params=_signed(), content=body)
    assert response.status_code == 200, response.text
    assert "<Content>" in response.text


async def test_an_image_with_an_unparsable_url_is_kept_not_a_crash(client: httpx.AsyncClient) -> None:
    body = _push(
        "<MsgType>image</MsgType><PicUrl><![CDATA[http://[]]></PicUrl><MediaId>m1</MediaId><MsgId>91</MsgId>"
    )
    assert (await client.post("/wechat", params=_signed(), content=body)).status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        "<MsgType>text</MsgType><Content>你好</Content><MsgId>not-a-number</MsgId>",
        "<MsgType>event</MsgType><Event>CLICK</Event><EventKey><k>BILL</k></EventKey>",
        "<MsgType>text</MsgType><Content><b>1</b><b>2</b></Content><MsgId>93</MsgId>",
        "<MsgType>text</MsgType><Content>a</Content><Content>b</Content><MsgId>94</MsgId>",
    ],
    ids=["msgid-not-int", "nested-event-key", "nested-content", "repeated-content"],
)
async def test_a_field_of_the_wrong_type_is_a_422_and_stores_nothing(
    client: httpx.AsyncClient, sessions, fields: str
) -> None:
    response = await client.post("/wechat", params=_signed(), content=_push(fields))
    assert response.status_code == 422, response.text
    assert await _resident_messages(sessions) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>'.encode(
            "utf-16"
        ),
    ],
    ids=["empty", "utf16-dtd"],
)
async def test_an_empty_or_utf16_body_is_a_422(client: httpx.AsyncClient, body: bytes) -> None:
    assert (await client.post("/wechat", params=_signed(), content=body)).status_code == 422

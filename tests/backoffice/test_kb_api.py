"""The knowledge-base back-office API end to end: curation, uploads, hit test, roles, self-update.

The app runs with a hashing embedder (tests/kb/fakes.py) so each test has its own empty,
fast knowledge base and never changes the shared demo KB other tests read.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agent.inbound import InboundMessage
from backoffice.app import create_app
from kb.gaps import record_unanswered
from tests.kb.fakes import make_fake_kb
from tools.conversations.service import open_conversation
from tools.crm.models import Account
from tools.db import transaction
from tools.demo.seed import seed_demo

BASE = "/api/v1/backoffice/kb"


@pytest.fixture
async def kb_app(settings, clock, sessions, shared_classifier, tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with transaction(sessions) as session:
        await seed_demo(session, clock=clock)
    app = create_app(
        settings, clock=clock, kb=make_fake_kb(tmp_path / "kb"), classifier=shared_classifier, run_jobs=False
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def kb_client(kb_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=kb_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    passwords = {"admin": "warmline-admin", "supervisor": "warmline-super", "agent1": "warmline-agent"}
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": passwords[username]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _hit_ids(client: httpx.AsyncClient, headers: dict[str, str], query: str) -> list[str]:
    response = await client.post(f"{BASE}/hit-test", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    return [hit["document_id"] for hit in response.json()["hits"]]


async def test_admin_curates_a_faq_and_every_change_shows_in_the_hit_test_at_once(kb_client) -> None:
    admin = await _login(kb_client, "admin")
    created = await kb_client.post(
        f"{BASE}/faqs",
        json={"questions": ["暖气费能分期交吗", "采暖费可以分两次缴吗"], "answer": "可以分两期缴纳。"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    faq = created.json()
    assert faq["kind"] == "faq" and faq["title"] == "暖气费能分期交吗" and faq["versions"][0]["changed_by"]
    hit = (
        await kb_client.post(f"{BASE}/hit-test", json={"query": "采暖费可以分两次缴吗"}, headers=admin)
    ).json()
    assert hit["hits"][0]["document_id"] == faq["id"] and "语义相似度" in hit["hits"][0]["why"]

    edited = await kb_client.patch(
        f"{BASE}/faqs/{faq['id']}",
        json={"answer": "可以分两期，首期不少于一半。", "note": "补充首期"},
        headers=admin,
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    assert [v["note"] for v in edited.json()["versions"]] == ["补充首期", "created"]
    hits = (
        await kb_client.post(f"{BASE}/hit-test", json={"query": "暖气费能分期交吗"}, headers=admin)
    ).json()
    assert "首期不少于一半" in hits["hits"][0]["text"]

    retired = await kb_client.post(
        f"{BASE}/documents/{faq['id']}/retire", json={"reason": "政策取消"}, headers=admin
    )
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert faq["id"] not in await _hit_ids(kb_client, admin, "暖气费能分期交吗")
    again = await kb_client.post(f"{BASE}/documents/{faq['id']}/retire", json={}, headers=admin)
    assert again.status_code == 409
    listed = (await kb_client.get(f"{BASE}/documents", params={"status": "retired"}, headers=admin)).json()
    assert listed["total"] == 1


async def test_roles_admin_curates_supervisor_views_agent_only_hit_tests(kb_client) -> None:
    admin, supervisor, agent = [await _login(kb_client, name) for name in ("admin", "supervisor", "agent1")]
    doc = {"title": "营业厅", "content": "营业厅周一至周五 8:30 开门。"}
    assert (await kb_client.post(f"{BASE}/documents", json=doc)).status_code == 401
    assert (await kb_client.post(f"{BASE}/documents", json=doc, headers=agent)).status_code == 403
    assert (await kb_client.post(f"{BASE}/documents", json=doc, headers=supervisor)).status_code == 403
    assert (await kb_client.post(f"{BASE}/documents", json=doc, headers=admin)).status_code == 201
    assert (await kb_client.get(f"{BASE}/documents", headers=supervisor)).json()["total"] == 1
    assert (await kb_client.get(f"{BASE}/documents", headers=agent)).status_code == 403
    assert (await kb_client.get(f"{BASE}/hot-topics", headers=supervisor)).status_code == 200
    assert (await kb_client.post(f"{BASE}/hot-topics/mine", headers=supervisor)).status_code == 403
    assert (
        await kb_client.post(f"{BASE}/hit-test", json={"query": "营业厅几点开门"}, headers=agent)
    ).status_code == 200


BAD_UPLOADS = [
    ("virus.exe", b"MZ...", 422, "unsupported_file"),
    ("noext", b"hello", 422, "unsupported_file"),
    ("empty.md", b"   ", 422, "empty_file"),
    ("big.txt", b"x" * (5 * 1024 * 1024 + 1), 413, "file_too_large"),
    ("faq.yaml", b"- questions: [a]\n", 422, "bad_file"),
    ("broken.yaml", b"- [unclosed", 422, "bad_file"),
    ("scan.pdf", b"%PDF-1.4 not really", 422, "bad_file"),
    (
        "dates.md",
        b"---\ntitle: t\nvalid_from: 2026-12-02\nvalid_to: 2026-12-01\n---\n\nbody",
        422,
        "bad_file",
    ),
]


async def test_bad_uploads_are_refused_with_a_4xx_and_a_chinese_reason(kb_client) -> None:
    admin = await _login(kb_client, "admin")
    for name, content, status, code in BAD_UPLOADS:
        response = await kb_client.post(f"{BASE}/upload", files={"file": (name, content)}, headers=admin)
        assert response.status_code == status, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), name
    assert (await kb_client.get(f"{BASE}/documents", headers=admin)).json()["total"] == 0


async def test_uploaded_markdown_and_faq_yaml_are_ingested_and_searchable(kb_client) -> None:
    admin = await _login(kb_client, "admin")
    markdown = "---\ntitle: 维修热线\n---\n\n# 维修热线\n\n抢修电话 96069，全天有人接听。\n".encode()
    response = await kb_client.post(f"{BASE}/upload", files={"file": ("热线.md", markdown)}, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["documents"][0]["outcome"] == "created"
    faq = "- id: faq-fenqi\n  questions: [暖气费能分期吗]\n  answer: 可以分两期缴纳。\n".encode()
    response = await kb_client.post(f"{BASE}/upload", files={"file": ("faq.yaml", faq)}, headers=admin)
    assert response.status_code == 201 and response.json()["documents"][0]["slug"] == "faq-fenqi"
    docs = (await kb_client.get(f"{BASE}/documents", headers=admin)).json()["items"]
    by_title = {d["title"]: d["id"] for d in docs}
    assert (await _hit_ids(kb_client, admin, "抢修电话多少"))[0] == by_title["维修热线"]
    assert (await _hit_ids(kb_client, admin, "暖气费能分期吗"))[0] == by_title["暖气费能分期吗"]


async def test_invalid_faq_bodies_are_422_with_chinese_messages(kb_client) -> None:
    admin = await _login(kb_client, "admin")
    no_questions = await kb_client.post(f"{BASE}/faqs", json={"questions": [], "answer": "a"}, headers=admin)
    assert no_questions.status_code == 422
    building = await kb_client.post(
        f"{BASE}/faqs", json={"questions": ["q"], "answer": "a", "scope_building": "3号楼"}, headers=admin
    )
    assert building.status_code == 422 and "小区" in building.json()["error"]["message"]
    missing = await kb_client.get(f"{BASE}/documents/nope", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "文档不存在"


async def test_mined_proposals_are_approved_into_the_kb_or_rejected_for_good(
    kb_client, sessions, clock
) -> None:
    admin, supervisor = await _login(kb_client, "admin"), await _login(kb_client, "supervisor")
    async with transaction(sessions) as session:
        for n in range(4):
            await record_unanswered(
                session,
                question="低保户的暖气费能减免吗",
                message_id=f"a{n}",
                reason="abstained",
                clock=clock,
            )
        for n in range(3):
            await record_unanswered(
                session, question="你们公司招聘吗", message_id=f"b{n}", reason="handed_off", clock=clock
            )
    mined = await kb_client.post(f"{BASE}/hot-topics/mine", headers=admin)
    assert mined.status_code == 200 and mined.json()["proposals_created"] == 2
    topics = (await kb_client.get(f"{BASE}/hot-topics", headers=supervisor)).json()
    assert [(t["label"], t["count"], t["trend"]) for t in topics] == [
        ("低保户的暖气费能减免吗", 4, "new"),
        ("你们公司招聘吗", 3, "new"),
    ]
    proposals = {p["title"]: p for p in (await kb_client.get(f"{BASE}/proposals", headers=supervisor)).json()}
    subsidy, hiring = proposals["低保户的暖气费能减免吗"], proposals["你们公司招聘吗"]
    assert subsidy["id"] not in await _hit_ids(kb_client, admin, "低保户的暖气费能减免吗")
    assert (
        await kb_client.post(f"{BASE}/proposals/{subsidy['id']}/approve", json={}, headers=supervisor)
    ).status_code == 403

    approved = await kb_client.post(
        f"{BASE}/proposals/{subsidy['id']}/approve",
        json={"answer": "持低保证的家庭可到所在社区申请采暖费减免。"},
        headers=admin,
    )
    assert approved.status_code == 200, approved.text
    document_id = approved.json()["document"]["id"]
    assert (await _hit_ids(kb_client, admin, "低保户的暖气费能减免吗"))[0] == document_id
    rejected = await kb_client.post(
        f"{BASE}/proposals/{hiring['id']}/reject", json={"reason": "无关"}, headers=admin
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (
        await kb_client.post(f"{BASE}/proposals/{hiring['id']}/approve", json={"answer": "x"}, headers=admin)
    ).status_code == 409
    assert (await kb_client.get(f"{BASE}/proposals", headers=admin)).json() == []
    rerun = (await kb_client.post(f"{BASE}/hot-topics/mine", headers=admin)).json()
    assert rerun["proposals_created"] == 0


async def test_an_unanswered_chat_question_is_recorded_and_the_agents_answer_is_proposed(
    kb_app, kb_client, sessions, clock
) -> None:
    async with transaction(sessions) as session:
        account = await session.scalar(select(Account).where(Account.account_no == "2026010001"))
        conversation = await open_conversation(session, channel="web", account_id=account.id, clock=clock)
    question = "暖气片能自己换吗"
    await kb_app.state.agent.respond(InboundMessage(conversation_id=conversation.id, text=question))
    handoff = await kb_app.state.agent.respond(InboundMessage(conversation_id=conversation.id, text="转人工"))
    assert handoff.handoff

    admin, agent = await _login(kb_client, "admin"), await _login(kb_client, "agent1")
    gaps = (await kb_client.get(f"{BASE}/unanswered", headers=admin)).json()
    assert any(g["question"] == question and g["conversation_id"] == conversation.id for g in gaps), gaps

    console = f"/api/v1/backoffice/conversations/{conversation.id}"
    assert (await kb_client.post(f"{console}/take-over", headers=agent)).status_code == 200
    answer = "可以自己换，但要先报停关阀并到营业厅备案，户号2026010001的住户可预约师傅上门放水。"
    assert (await kb_client.post(f"{console}/reply", json={"text": answer}, headers=agent)).status_code == 200
    assert (await kb_client.post(f"{console}/hand-back", headers=agent)).status_code == 200

    proposals = (await kb_client.get(f"{BASE}/proposals", headers=admin)).json()
    learned = next(p for p in proposals if p["source"] == "agent_answer")
    assert learned["conversation_id"] == conversation.id and learned["questions"] == [question]
    assert learned["answer"].startswith("可以自己换") and "2026010001" not in learned["answer"]


async def test_hit_test_on_the_demo_kb_applies_building_scope_and_validity_date(client) -> None:
    """Real embeddings (the shared demo KB): read-only, so other tests are unaffected."""
    agent = await _login(client, "agent1")
    query = {"query": "3号楼为什么停暖了，什么时候恢复"}
    scoped = {**query, "community": "锦绣花园", "building": "3号楼"}
    hits = (await client.post(f"{BASE}/hit-test", json=scoped, headers=agent)).json()
    assert hits["hits"][0]["document_id"] == "notice-jinxiu-3" and hits["confident"]
    assert hits["hits"][0]["dense_rank"] == 1 and "融合得分" in hits["hits"][0]["why"]
    elsewhere = (
        await client.post(f"{BASE}/hit-test", json={**scoped, "building": "5号楼"}, headers=agent)
    ).json()
    assert "notice-jinxiu-3" not in [h["document_id"] for h in elsewhere["hits"]]
    later = (await client.post(f"{BASE}/hit-test", json={**scoped, "on": "2026-12-01"}, headers=agent)).json()
    assert "notice-jinxiu-3" not in [h["document_id"] for h in later["hits"]]
    bad = await client.post(f"{BASE}/hit-test", json={"query": ""}, headers=agent)
    assert bad.status_code == 422

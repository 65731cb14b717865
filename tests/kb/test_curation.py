"""Curation through the registry: versions, immediate re-indexing, retirement, FAQ variants, expiry."""

from datetime import date

import pytest
from sqlalchemy import select

from kb.curation import (
    DocumentInput,
    create_document,
    document_versions,
    expire_documents,
    list_documents,
    restore_document,
    retire_document,
    update_document,
)
from kb.retriever import Scope
from tools.audit import AuditLog
from tools.errors import Conflict, InvalidInput

TODAY = date(2026, 11, 22)


def _top(kb, query: str, **scope) -> str | None:
    result = kb.search(query, scope=Scope(today=TODAY, **scope), k=3)
    return result.passages[0].document_id if result.passages else None


def _hits(kb, query: str, **scope) -> set[str]:
    return {p.document_id for p in kb.search(query, scope=Scope(today=TODAY, **scope), k=5).passages}


async def test_created_document_is_searchable_at_once_and_an_edit_replaces_it_as_version_two(
    session, clock, fake_kb
) -> None:
    doc = await create_document(
        session,
        DocumentInput(title="维修电话", content="维修热线 96069，全天 24 小时有人接听。"),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    assert doc.version == 1 and _top(fake_kb, "维修热线是多少") == doc.id

    await update_document(
        session,
        doc.id,
        {"content": "抢修热线改为 96077，夜间也可拨打。"},
        kb=fake_kb,
        clock=clock,
        actor="admin2",
        note="号码变更",
    )
    versions = await document_versions(session, doc.id)
    assert [(v.version, v.changed_by) for v in versions] == [(2, "admin2"), (1, "admin")]
    assert versions[0].note == "号码变更" and "96069" in versions[1].content
    live = fake_kb.search("抢修热线", scope=Scope(today=TODAY), k=3).passages
    assert live[0].document_id == doc.id and "96077" in live[0].text
    assert fake_kb.count() == 1  # the old version's chunk is gone
    actions = list(await session.scalars(select(AuditLog.action).where(AuditLog.target_id == doc.id)))
    assert actions == ["kb.create", "kb.update"]


async def test_an_edit_that_changes_nothing_makes_no_new_version(session, clock, fake_kb) -> None:
    doc = await create_document(
        session,
        DocumentInput(title="营业厅", content="营业厅周一至周五开放。"),
        kb=fake_kb,
        clock=clock,
        actor="a",
    )
    await update_document(session, doc.id, {"title": "营业厅"}, kb=fake_kb, clock=clock, actor="a")
    assert len(await document_versions(session, doc.id)) == 1


async def test_retired_document_leaves_search_and_restore_brings_it_back(session, clock, fake_kb) -> None:
    doc = await create_document(
        session,
        DocumentInput(title="停水通知", content="锦绣花园周六停水检修。", kind="notice"),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    assert doc.id in _hits(fake_kb, "锦绣花园停水")
    await retire_document(session, doc.id, kb=fake_kb, clock=clock, actor="admin", reason="检修取消")
    assert doc.status == "retired" and doc.id not in _hits(fake_kb, "锦绣花园停水") and fake_kb.count() == 0
    with pytest.raises(Conflict):
        await update_document(session, doc.id, {"content": "x"}, kb=fake_kb, clock=clock, actor="admin")
    await restore_document(session, doc.id, kb=fake_kb, clock=clock, actor="admin")
    assert doc.id in _hits(fake_kb, "锦绣花园停水")
    notes = [v.note for v in await document_versions(session, doc.id)]
    assert notes == ["restored", "retired: 检修取消", "created"]


async def test_every_faq_question_variant_finds_the_entry(session, clock, fake_kb) -> None:
    await create_document(
        session,
        DocumentInput(title="营业时间", content="营业厅 8:30-17:00。"),
        kb=fake_kb,
        clock=clock,
        actor="a",
    )
    variants = ["暖气费能分期交吗", "采暖费可以分几次缴纳", "取暖费能不能先交一半"]
    faq = await create_document(
        session,
        DocumentInput(
            title="分期缴费", content="采暖费可分两期缴纳，首期不少于一半。", kind="faq", questions=variants
        ),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    for question in variants:
        assert _top(fake_kb, question) == faq.id
    await update_document(
        session,
        faq.id,
        {"questions": [*variants, "暖气费分两次交行不行"]},
        kb=fake_kb,
        clock=clock,
        actor="a",
    )
    assert _top(fake_kb, "暖气费分两次交行不行") == faq.id


async def test_scoped_notice_reaches_only_its_building(session, clock, fake_kb) -> None:
    doc = await create_document(
        session,
        DocumentInput(
            title="3号楼停暖检修",
            content="3号楼周五停暖检修半天。",
            kind="notice",
            scope_community="锦绣花园",
            scope_building="3号楼",
        ),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    assert doc.id in _hits(fake_kb, "停暖检修", community="锦绣花园", building="3号楼")
    assert doc.id not in _hits(fake_kb, "停暖检修", community="锦绣花园", building="5号楼")
    assert doc.id not in _hits(fake_kb, "停暖检修")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (DocumentInput(title=" ", content="x"), "标题不能为空"),
        (DocumentInput(title="t", content=""), "正文不能为空"),
        (DocumentInput(title="t", content="a", kind="faq"), "FAQ 至少需要一个问法"),
        (DocumentInput(title="t", content="a", kind="memo"), "未知文档类型"),
        (
            DocumentInput(title="t", content="a", valid_from=date(2026, 12, 2), valid_to=date(2026, 12, 1)),
            "生效日期不能晚于失效日期",
        ),
        (DocumentInput(title="t", content="a", scope_building="3号楼"), "指定楼号时必须同时指定小区"),
        (DocumentInput(title="t", content="a", slug="Bad Slug!"), "文档编号"),
    ],
)
async def test_invalid_documents_are_refused_with_a_chinese_reason(
    session, clock, fake_kb, data, message
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create_document(session, data, kb=fake_kb, clock=clock, actor="admin")
    assert message in caught.value.message
    assert fake_kb.count() == 0


async def test_slug_clash_is_a_conflict(session, clock, fake_kb) -> None:
    data = DocumentInput(title="a", content="b", slug="same")
    await create_document(session, data, kb=fake_kb, clock=clock, actor="admin")
    with pytest.raises(Conflict):
        await create_document(session, data, kb=fake_kb, clock=clock, actor="admin")


async def test_expiry_retires_past_notices_once_and_keeps_current_ones(session, clock, fake_kb) -> None:
    old = await create_document(
        session,
        DocumentInput(title="试压通知", content="10月试压。", kind="notice", valid_to=date(2026, 11, 21)),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    current = await create_document(
        session,
        DocumentInput(
            title="寒潮通知", content="寒潮期间提高供水温度。", kind="notice", valid_to=date(2026, 11, 22)
        ),
        kb=fake_kb,
        clock=clock,
        actor="admin",
    )
    assert await expire_documents(session, kb=fake_kb, clock=clock) == {"expired": 1}
    assert old.status == "retired" and current.status == "active"
    assert (await document_versions(session, old.id))[0].note == "expired: valid_to 2026-11-21"
    assert fake_kb.count() == 1
    assert await expire_documents(session, kb=fake_kb, clock=clock) == {"expired": 0}
    active, total = await list_documents(session, status="active")
    assert total == 1 and active[0].id == current.id

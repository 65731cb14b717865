"""Curation: admins create, edit, retire and restore documents and FAQ entries.

Every change goes through ``upsert_document``, so it becomes a numbered version in
``kb_document_versions`` (who, when, what) and the live vectors are replaced in the same call:
an edit is searchable the moment the request returns, a retired document stops answering at once.
Each change is also written to the audit log. Functions flush; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kb.ingest import upsert_document
from kb.models import AUDIENCES, DOC_KINDS, KbDocument, KbDocumentVersion
from kb.retriever import KnowledgeBase
from kb.sources import SourceDocument
from tools.audit import record_audit
from tools.clock import Clock, local_date
from tools.db import new_id
from tools.errors import Conflict, InvalidInput, NotFound

MAX_TITLE = 200
MAX_CONTENT = 100_000
MAX_QUESTION = 200
MAX_QUESTIONS = 30
_SLUG_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass
class DocumentInput:
    """What an admin writes. FAQ entries keep their answer in ``content``."""

    title: str
    content: str
    kind: str = "doc"
    audience: str = "resident"
    questions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    valid_from: date | None = None
    valid_to: date | None = None
    scope_community: str | None = None
    scope_building: str | None = None
    slug: str | None = None

    @classmethod
    def of(cls, document: KbDocument) -> DocumentInput:
        return cls(
            title=document.title,
            content=document.content,
            kind=document.kind,
            audience=document.audience,
            questions=list(document.questions or []),
            tags=list(document.tags or []),
            valid_from=document.valid_from,
            valid_to=document.valid_to,
            scope_community=document.scope_community,
            scope_building=document.scope_building,
            slug=document.slug,
        )


EDITABLE = frozenset(f.name for f in fields(DocumentInput)) - {"slug", "kind"}


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def validated(data: DocumentInput) -> DocumentInput:
    """Normalise and check an input; every problem is an ``InvalidInput`` an admin can act on."""
    title, content = (data.title or "").strip(), (data.content or "").strip()
    if not title:
        raise InvalidInput("标题不能为空", code="title_required")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"标题不能超过 {MAX_TITLE} 字")
    if data.kind not in DOC_KINDS:
        raise InvalidInput(f"未知文档类型：{data.kind}（可选 doc / faq / notice）")
    if data.audience not in AUDIENCES:
        raise InvalidInput(f"未知读者范围：{data.audience}（可选 resident / staff）")
    if not content:
        raise InvalidInput("答案不能为空" if data.kind == "faq" else "正文不能为空", code="content_required")
    if len(content) > MAX_CONTENT:
        raise InvalidInput(f"正文不能超过 {MAX_CONTENT} 字")
    # A PATCH may send null for a list: it clears it, like an empty list.
    questions = list(dict.fromkeys(q.strip() for q in data.questions or () if q and q.strip()))
    if data.kind == "faq" and not questions:
        raise InvalidInput("FAQ 至少需要一个问法", code="questions_required")
    if len(questions) > MAX_QUESTIONS or any(len(q) > MAX_QUESTION for q in questions):
        raise InvalidInput(f"问法最多 {MAX_QUESTIONS} 条，每条不超过 {MAX_QUESTION} 字")
    if data.valid_from and data.valid_to and data.valid_from > data.valid_to:
        raise InvalidInput("生效日期不能晚于失效日期", code="bad_validity")
    community, building = _clean(data.scope_community), _clean(data.scope_building)
    if building and not community:
        raise InvalidInput("指定楼号时必须同时指定小区", code="bad_scope")
    slug = _clean(data.slug)
    if slug is not None and (len(slug) > 120 or not set(slug) <= _SLUG_CHARS):
        raise InvalidInput("文档编号只能包含小写字母、数字、- 和 _，且不超过 120 个字符")
    return replace(
        data,
        title=title,
        content=content,
        questions=questions,
        tags=[t.strip() for t in data.tags or () if t and t.strip()],
        scope_community=community,
        scope_building=building,
        slug=slug,
    )


def _source(data: DocumentInput, *, slug: str, source_path: str | None = None) -> SourceDocument:
    return SourceDocument(
        slug=slug,
        title=data.title,
        content=data.content,
        kind=data.kind,
        audience=data.audience,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        scope_community=data.scope_community,
        scope_building=data.scope_building,
        tags=data.tags,
        questions=data.questions,
        source_path=source_path,
    )


async def get_document(session: AsyncSession, document_id: str) -> KbDocument:
    document = await session.get(KbDocument, document_id)
    if document is None:
        raise NotFound("文档不存在", code="document_not_found")
    return document


async def document_versions(session: AsyncSession, document_id: str) -> list[KbDocumentVersion]:
    await get_document(session, document_id)
    rows = await session.scalars(
        select(KbDocumentVersion)
        .where(KbDocumentVersion.document_id == document_id)
        .order_by(KbDocumentVersion.version.desc())
    )
    return list(rows)


async def list_documents(
    session: AsyncSession,
    *,
    kind: str | None = None,
    status: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[KbDocument], int]:
    """A page of documents (newest change first) and the total that match."""
    stmt = select(KbDocument)
    if kind:
        stmt = stmt.where(KbDocument.kind == kind)
    if status:
        stmt = stmt.where(KbDocument.status == status)
    if query and query.strip():
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(KbDocument.title.like(like), KbDocument.content.like(like)))
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = await session.scalars(
        stmt.order_by(KbDocument.updated_at.desc(), KbDocument.id).limit(limit).offset(offset)
    )
    return list(rows), total


async def _audit(
    session: AsyncSession, clock: Clock, actor: str, action: str, document: KbDocument, **details: Any
) -> None:
    await record_audit(
        session,
        clock=clock,
        actor=actor,
        action=f"kb.{action}",
        target_type="kb_document",
        target_id=document.id,
        details={"slug": document.slug, "version": document.version, **details},
    )


async def create_document(
    session: AsyncSession, data: DocumentInput, *, kb: KnowledgeBase, clock: Clock, actor: str, note: str = ""
) -> KbDocument:
    data = validated(data)
    slug = data.slug or f"{data.kind}-{new_id()[:12]}"
    if await session.scalar(select(KbDocument.id).where(KbDocument.slug == slug)):
        raise Conflict(f"文档编号 {slug} 已存在", code="slug_taken")
    document, _, chunks = await upsert_document(
        session, _source(data, slug=slug), kb=kb, clock=clock, actor=actor, note=note or "created"
    )
    await _audit(session, clock, actor, "create", document, kind=document.kind, chunks=chunks)
    return document


async def update_document(
    session: AsyncSession,
    document_id: str,
    changes: Mapping[str, Any],
    *,
    kb: KnowledgeBase,
    clock: Clock,
    actor: str,
    note: str = "",
) -> KbDocument:
    """Apply the given fields (others keep their value) as a new version, re-indexed at once."""
    document = await get_document(session, document_id)
    if document.status != "active":
        raise Conflict("该文档已停用，请先恢复后再编辑", code="document_retired")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    data = validated(replace(DocumentInput.of(document), **dict(changes)))
    before = document.version
    document, outcome, _ = await upsert_document(
        session,
        _source(data, slug=document.slug, source_path=document.source_path),
        kb=kb,
        clock=clock,
        actor=actor,
        note=note or "edited",
    )
    if outcome != "unchanged":
        await _audit(
            session, clock, actor, "update", document, previous_version=before, fields=sorted(changes)
        )
    return document


async def _set_status(
    session: AsyncSession,
    document: KbDocument,
    status: str,
    *,
    kb: KnowledgeBase,
    clock: Clock,
    actor: str,
    note: str,
) -> KbDocument:
    source = _source(DocumentInput.of(document), slug=document.slug, source_path=document.source_path)
    document, _, _ = await upsert_document(
        session, source, kb=kb, clock=clock, actor=actor, status=status, note=note
    )
    return document


async def retire_document(
    session: AsyncSession, document_id: str, *, kb: KnowledgeBase, clock: Clock, actor: str, reason: str = ""
) -> KbDocument:
    """Stop a document answering: a new version with status ``retired``; its vectors are removed."""
    document = await get_document(session, document_id)
    if document.status == "retired":
        raise Conflict("该文档已停用", code="already_retired")
    note = f"retired: {reason}" if reason else "retired"
    document = await _set_status(session, document, "retired", kb=kb, clock=clock, actor=actor, note=note)
    await _audit(session, clock, actor, "retire", document, reason=reason)
    return document


async def restore_document(
    session: AsyncSession, document_id: str, *, kb: KnowledgeBase, clock: Clock, actor: str
) -> KbDocument:
    document = await get_document(session, document_id)
    if document.status == "active":
        raise Conflict("该文档正在使用中", code="already_active")
    document = await _set_status(
        session, document, "active", kb=kb, clock=clock, actor=actor, note="restored"
    )
    await _audit(session, clock, actor, "restore", document)
    return document


async def expire_documents(session: AsyncSession, *, kb: KnowledgeBase, clock: Clock) -> dict[str, int]:
    """Retire active documents whose ``valid_to`` has passed (company-local date).

    Retrieval already filters by validity, so this is bookkeeping: the registry says what is
    really live, the vectors go, and the back office stops listing stale notices as active.
    """
    today = local_date(clock)
    rows = await session.scalars(
        select(KbDocument).where(
            KbDocument.status == "active", KbDocument.valid_to.is_not(None), KbDocument.valid_to < today
        )
    )
    expired = 0
    for document in list(rows):
        note = f"expired: valid_to {document.valid_to.isoformat() if document.valid_to else ''}"
        await _set_status(session, document, "retired", kb=kb, clock=clock, actor="system", note=note)
        await _audit(session, clock, "system", "expire", document, valid_to=str(document.valid_to))
        expired += 1
    return {"expired": expired}


__all__ = [
    "DocumentInput",
    "create_document",
    "document_versions",
    "expire_documents",
    "get_document",
    "list_documents",
    "restore_document",
    "retire_document",
    "update_document",
    "validated",
]

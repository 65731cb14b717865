"""Knowledge-base curation API: documents and FAQ, uploads, hit test, hot topics and proposals.

Roles: admins curate (create, edit, retire, restore, upload, mine, approve or reject proposals);
supervisors see everything read-only (documents, versions, unanswered questions, hot topics,
proposals) — approving stays with admins, who answer for what the bot says; agents and
supervisors may run the hit test, which changes nothing. Every change is versioned and audited
by kb/curation.py and is searchable (or gone) as soon as the request returns.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile

from backoffice.deps import ServicesDep, SessionDep, require_roles
from backoffice.routes.kb_schemas import (
    ApproveIn,
    DocumentCreate,
    DocumentDetail,
    DocumentPage,
    DocumentPatch,
    DocumentView,
    FaqCreate,
    FaqPatch,
    HitTestIn,
    HitTestResult,
    HitView,
    Kind,
    ProposalView,
    ReasonIn,
    Status,
    TopicView,
    UnansweredView,
    UploadReport,
    VersionView,
)
from backoffice.security import StaffClaims
from kb import curation, mining, proposals
from kb.gaps import recent_unanswered
from kb.ingest import upsert_document
from kb.retriever import KnowledgeBase, Scope
from kb.sources import SUPPORTED, SourceError, read_source
from tools.clock import local_date
from tools.db import new_id
from tools.errors import InvalidInput

router = APIRouter(prefix="/api/v1/backoffice/kb", tags=["knowledge base"])

Curator = Annotated[StaffClaims, Depends(require_roles())]  # admin only
Viewer = Annotated[StaffClaims, Depends(require_roles("supervisor"))]
Tester = Annotated[StaffClaims, Depends(require_roles("agent", "supervisor"))]


class FileTooLarge(InvalidInput):
    status_code = 413
    code = "file_too_large"


async def get_kb(request: Request) -> KnowledgeBase:
    return request.app.state.kb


KbDep = Annotated[KnowledgeBase, Depends(get_kb)]


async def _detail(session: Any, document_id: str) -> DocumentDetail:
    document = await curation.get_document(session, document_id)
    versions = await curation.document_versions(session, document_id)
    return DocumentDetail(
        **DocumentView.of(document).model_dump(), versions=[VersionView.of(v) for v in versions]
    )


# --- documents and FAQ ------------------------------------------------------------------------


@router.get("/documents")
async def documents(
    session: SessionDep,
    _: Viewer,
    kind: Kind | None = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(max_length=60, description="标题或正文包含")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # beyond: a DB integer overflow, not a page
) -> DocumentPage:
    rows, total = await curation.list_documents(
        session, kind=kind, status=status, query=q, limit=limit, offset=offset
    )
    return DocumentPage(total=total, items=[DocumentView.of(row) for row in rows])


@router.get("/documents/{document_id}")
async def document(document_id: str, session: SessionDep, _: Viewer) -> DocumentDetail:
    """One document with its version history (who changed what, when, why)."""
    return await _detail(session, document_id)


@router.post("/documents", status_code=201)
async def create(
    body: DocumentCreate, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> DocumentDetail:
    data = curation.DocumentInput(**body.model_dump())
    created = await curation.create_document(session, data, kb=kb, clock=services.clock, actor=staff.name)
    return await _detail(session, created.id)


@router.patch("/documents/{document_id}")
async def edit(
    document_id: str,
    body: DocumentPatch,
    session: SessionDep,
    services: ServicesDep,
    kb: KbDep,
    staff: Curator,
) -> DocumentDetail:
    changes = body.model_dump(exclude_unset=True, exclude={"note"})
    await curation.update_document(
        session, document_id, changes, kb=kb, clock=services.clock, actor=staff.name, note=body.note
    )
    return await _detail(session, document_id)


@router.post("/documents/{document_id}/retire")
async def retire(
    document_id: str, body: ReasonIn, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> DocumentDetail:
    """Stop a document (or FAQ entry) answering; its vectors are removed at once."""
    await curation.retire_document(
        session, document_id, kb=kb, clock=services.clock, actor=staff.name, reason=body.reason
    )
    return await _detail(session, document_id)


@router.post("/documents/{document_id}/restore")
async def restore(
    document_id: str, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> DocumentDetail:
    await curation.restore_document(session, document_id, kb=kb, clock=services.clock, actor=staff.name)
    return await _detail(session, document_id)


@router.get("/faqs")
async def faqs(
    session: SessionDep,
    _: Viewer,
    status: Status | None = "active",
    q: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,  # beyond: a DB integer overflow, not a page
) -> DocumentPage:
    rows, total = await curation.list_documents(
        session, kind="faq", status=status, query=q, limit=limit, offset=offset
    )
    return DocumentPage(total=total, items=[DocumentView.of(row) for row in rows])


@router.post("/faqs", status_code=201)
async def create_faq(
    body: FaqCreate, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> DocumentDetail:
    fields = body.model_dump(exclude={"answer", "title"})
    title = body.title or next((q.strip() for q in body.questions if q.strip()), "")
    data = curation.DocumentInput(title=title, content=body.answer, kind="faq", **fields)
    created = await curation.create_document(session, data, kb=kb, clock=services.clock, actor=staff.name)
    return await _detail(session, created.id)


@router.patch("/faqs/{document_id}")
async def edit_faq(
    document_id: str, body: FaqPatch, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> DocumentDetail:
    current = await curation.get_document(session, document_id)
    if current.kind != "faq":
        raise InvalidInput("该文档不是 FAQ，请用文档接口修改", code="not_faq")
    changes = body.model_dump(exclude_unset=True, exclude={"note", "answer"})
    if body.answer is not None:
        changes["content"] = body.answer
    await curation.update_document(
        session, document_id, changes, kb=kb, clock=services.clock, actor=staff.name, note=body.note
    )
    return await _detail(session, document_id)


# --- upload and hit test -------------------------------------------------------------------------


def _safe_name(filename: str) -> str:
    name = Path(filename or "").name.strip()
    return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff._-]+", "-", name).strip("-.") or "upload"


@router.post("/upload", status_code=201)
async def upload(
    file: UploadFile, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> UploadReport:
    """Ingest one file (.md .txt .html .pdf .docx, FAQ .yaml) into the knowledge base."""
    name = _safe_name(file.filename or "")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise InvalidInput(
            f"不支持的文件类型：{suffix or '无扩展名'}（支持 .md .txt .html .pdf .docx .yaml）",
            code="unsupported_file",
        )
    limit = services.settings.upload_max_bytes
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise FileTooLarge(f"文件不能超过 {limit // (1024 * 1024)} MB")
    if not raw.strip():
        raise InvalidInput("文件是空的", code="empty_file")
    folder = services.settings.uploads_dir / "kb" / new_id()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(raw)
    try:
        sources = await asyncio.to_thread(read_source, path)
    except SourceError as error:
        raise InvalidInput(f"文件无法导入：{error}", code="bad_file") from error
    report = UploadReport(file=name, documents=[], chunks_embedded=0)
    for source in sources:
        try:
            fields = {name: getattr(source, name) for name in curation.EDITABLE | {"kind"}}
            data = curation.validated(curation.DocumentInput(**fields))
        except InvalidInput as error:
            raise InvalidInput(f"《{source.title}》：{error.message}", code="bad_file") from error
        source.title, source.content, source.questions = data.title, data.content, data.questions
        document, outcome, chunks = await upsert_document(
            session, source, kb=kb, clock=services.clock, actor=staff.name, note=f"upload {name}"
        )
        report.documents.append(
            {"id": document.id, "slug": document.slug, "title": document.title, "outcome": outcome}
        )
        report.chunks_embedded += chunks
    return report


@router.post("/hit-test")
async def hit_test(body: HitTestIn, services: ServicesDep, kb: KbDep, _: Tester) -> HitTestResult:
    """What the bot would retrieve for this question, in this 小区/楼, on this day — and why."""
    scope = Scope(
        today=body.on or local_date(services.clock),
        community=body.community or None,
        building=body.building or None,
        staff=body.staff,
    )
    result = await asyncio.to_thread(kb.search, body.query, scope=scope, k=body.k)
    verdict = "机器人会据此回答" if result.confident else "把握不足：机器人会说明不确定并建议转人工"
    return HitTestResult(
        query=body.query,
        confident=result.confident,
        confidence=result.confidence,
        verdict=verdict,
        hits=[HitView.of(rank, passage) for rank, passage in enumerate(result.passages, 1)],
    )


# --- self-update: unanswered questions, hot topics, proposals ------------------------------------


@router.get("/unanswered")
async def unanswered(
    session: SessionDep,
    _: Viewer,
    reason: Annotated[
        str | None, Query(pattern="^(abstained|low_confidence|handed_off|negative_feedback)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UnansweredView]:
    return [UnansweredView.of(row) for row in await recent_unanswered(session, reason=reason, limit=limit)]


@router.get("/hot-topics")
async def hot_topics(session: SessionDep, _: Viewer) -> list[TopicView]:
    """The latest mining run's 热点问题: central question, 热词, count, trend, examples."""
    return [TopicView.of(topic) for topic in await mining.latest_hot_topics(session)]


@router.post("/hot-topics/mine")
async def mine_now(session: SessionDep, services: ServicesDep, kb: KbDep, _: Curator) -> dict[str, Any]:
    """Run mining now instead of waiting for the hourly job."""
    summary = await mining.mine_hot_topics(session, kb=kb, clock=services.clock)
    topics = [
        TopicView.of(topic).model_dump(mode="json") for topic in await mining.latest_hot_topics(session)
    ]
    return {**summary, "hot_topics": topics}


@router.get("/proposals")
async def proposal_list(
    session: SessionDep,
    _: Viewer,
    status: Annotated[str | None, Query(pattern="^(proposed|approved|rejected)$")] = "proposed",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProposalView]:
    return [
        ProposalView.of(row) for row in await proposals.list_proposals(session, status=status, limit=limit)
    ]


@router.get("/proposals/{proposal_id}")
async def proposal(proposal_id: str, session: SessionDep, _: Viewer) -> ProposalView:
    return ProposalView.of(await proposals.get_proposal(session, proposal_id))


@router.post("/proposals/{proposal_id}/approve")
async def approve(
    proposal_id: str, body: ApproveIn, session: SessionDep, services: ServicesDep, kb: KbDep, staff: Curator
) -> dict[str, Any]:
    """Publish as an FAQ entry (optionally with an edited answer); searchable at once."""
    decided, document = await proposals.approve_proposal(
        session,
        proposal_id,
        kb=kb,
        clock=services.clock,
        actor=staff.name,
        answer=body.answer,
        questions=body.questions,
        title=body.title,
    )
    return {
        "proposal": ProposalView.of(decided).model_dump(mode="json"),
        "document": DocumentView.of(document).model_dump(mode="json"),
    }


@router.post("/proposals/{proposal_id}/reject")
async def reject(
    proposal_id: str, body: ReasonIn, session: SessionDep, services: ServicesDep, staff: Curator
) -> ProposalView:
    decided = await proposals.reject_proposal(
        session, proposal_id, clock=services.clock, actor=staff.name, reason=body.reason
    )
    return ProposalView.of(decided)

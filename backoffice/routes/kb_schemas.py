"""Request and response shapes of the knowledge-base back-office API (backoffice/routes/kb.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from kb.models import HotTopic, KbDocument, KbDocumentVersion, KbProposal, UnansweredQuestion
from kb.retriever import Passage
from tools.validators import IsoDate, JsonInt

Kind = Literal["doc", "faq", "notice"]
Audience = Literal["resident", "staff"]
Status = Literal["draft", "proposed", "active", "retired", "rejected"]


class ScopeFields(BaseModel):
    audience: Audience = "resident"
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    scope_community: str | None = Field(default=None, max_length=60, description="小区；空为全公司")
    scope_building: str | None = Field(default=None, max_length=20, description="楼号，需同时指定小区")
    tags: list[str] = Field(default_factory=list, max_length=20)


class DocumentCreate(ScopeFields):
    title: str = Field(max_length=200)
    content: str = Field(max_length=100_000)
    kind: Literal["doc", "notice"] = "doc"
    slug: str | None = Field(default=None, max_length=120)


class DocumentPatch(BaseModel):
    """Only the fields given change; the result is a new version."""

    title: str | None = Field(default=None, max_length=200)
    content: str | None = Field(default=None, max_length=100_000)
    questions: list[str] | None = Field(default=None, max_length=30)
    audience: Audience | None = None
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    scope_community: str | None = Field(default=None, max_length=60)
    scope_building: str | None = Field(default=None, max_length=20)
    tags: list[str] | None = Field(default=None, max_length=20)
    note: str = Field(default="", max_length=200, description="修改说明，记入版本历史")


class FaqCreate(ScopeFields):
    questions: list[str] = Field(min_length=1, max_length=30, description="问法（同一问题的不同说法）")
    answer: str = Field(max_length=4000)
    title: str | None = Field(default=None, max_length=200, description="默认取第一个问法")
    slug: str | None = Field(default=None, max_length=120)


class FaqPatch(BaseModel):
    questions: list[str] | None = Field(default=None, min_length=1, max_length=30)
    answer: str | None = Field(default=None, max_length=4000)
    title: str | None = Field(default=None, max_length=200)
    audience: Audience | None = None
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None
    scope_community: str | None = Field(default=None, max_length=60)
    scope_building: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", max_length=200)


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=500)


class DocumentView(BaseModel):
    id: str
    slug: str
    title: str
    kind: str
    audience: str
    status: str
    version: int
    content: str
    questions: list[str]
    tags: list[str]
    valid_from: date | None
    valid_to: date | None
    scope: str
    scope_community: str | None
    scope_building: str | None
    source_path: str | None
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, document: KbDocument) -> DocumentView:
        return cls(
            **{
                name: getattr(document, name)
                for name in cls.model_fields
                if name not in ("questions", "tags")
            },
            questions=list(document.questions or []),
            tags=list(document.tags or []),
        )


class VersionView(BaseModel):
    version: int
    title: str
    status: str
    changed_by: str
    changed_at: datetime
    note: str
    content: str

    @classmethod
    def of(cls, row: KbDocumentVersion) -> VersionView:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class DocumentDetail(DocumentView):
    versions: list[VersionView]


class DocumentPage(BaseModel):
    total: int
    items: list[DocumentView]


class UploadReport(BaseModel):
    file: str
    documents: list[dict[str, Any]]
    chunks_embedded: int


class HitTestIn(BaseModel):
    query: str = Field(min_length=1, max_length=300)
    community: str | None = Field(default=None, max_length=60)
    building: str | None = Field(default=None, max_length=20)
    staff: bool = Field(default=False, strict=True, description="按坐席身份检索（可见内部文档）")
    on: IsoDate | None = Field(default=None, description="按哪一天的有效期过滤；默认今天")
    k: JsonInt = Field(default=5, ge=1, le=20)


class HitView(BaseModel):
    rank: int
    document_id: str
    title: str
    section: str
    kind: str
    text: str
    score: float
    dense: float | None
    dense_rank: int | None
    lexical: float | None
    lexical_rank: int | None
    matched_terms: list[str]
    why: str

    @classmethod
    def of(cls, rank: int, passage: Passage) -> HitView:
        reasons = []
        if passage.dense is not None:
            reasons.append(f"语义相似度 {passage.dense:.3f}（第 {passage.dense_rank} 名）")
        if passage.lexical is not None:
            terms = "、".join(passage.matched_terms) or "—"
            reasons.append(
                f"关键词 BM25 {passage.lexical:.2f}（第 {passage.lexical_rank} 名，命中：{terms}）"
            )
        return cls(
            rank=rank,
            document_id=passage.document_id,
            title=passage.title,
            section=passage.section,
            kind=passage.kind,
            text=passage.text,
            score=passage.score,
            dense=passage.dense,
            dense_rank=passage.dense_rank,
            lexical=passage.lexical,
            lexical_rank=passage.lexical_rank,
            matched_terms=passage.matched_terms,
            why="；".join(reasons) + f"；融合得分 {passage.score:.5f}",
        )


class HitTestResult(BaseModel):
    query: str
    confident: bool
    confidence: float
    verdict: str
    hits: list[HitView]


class TopicView(BaseModel):
    id: str
    label: str
    keywords: list[str]
    count: int
    previous_count: int
    trend: str
    examples: list[str]
    proposal_id: str | None
    window_start: datetime
    window_end: datetime

    @classmethod
    def of(cls, topic: HotTopic) -> TopicView:
        return cls(**{name: getattr(topic, name) for name in cls.model_fields})


class UnansweredView(BaseModel):
    id: str
    question: str
    reason: str
    confidence: float | None
    category: str | None
    conversation_id: str | None
    asked_at: datetime

    @classmethod
    def of(cls, row: UnansweredQuestion) -> UnansweredView:
        return cls(**{name: getattr(row, name) for name in cls.model_fields})


class ProposalView(BaseModel):
    id: str
    source: str
    status: str
    title: str
    questions: list[str]
    answer: str
    note: str
    asked_count: int
    conversation_id: str | None
    scope_community: str | None
    scope_building: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    document_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, proposal: KbProposal) -> ProposalView:
        return cls(**{name: getattr(proposal, name) for name in cls.model_fields})


class ApproveIn(BaseModel):
    answer: str | None = Field(default=None, max_length=4000, description="修改后的答案；不填用候选答案")
    questions: list[str] | None = Field(default=None, min_length=1, max_length=30)
    title: str | None = Field(default=None, max_length=200)

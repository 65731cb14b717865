"""Ingestion: files → registry versions → vectors, changing only what changed.

The registry row's content hash decides: an unchanged document is not re-embedded; a changed one
becomes a new version (kept in ``kb_document_versions``) whose chunks replace the old vectors.
Vectors are written after the registry flush; if the caller's transaction then rolls back, the
next ingest sees the hash mismatch and re-indexes, so the two never stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kb.chunking import chunk_document
from kb.models import KbDocument, KbDocumentVersion
from kb.retriever import KnowledgeBase
from kb.sources import SourceDocument, SourceError, discover, read_source
from tools.clock import Clock
from tools.settings import Settings


@dataclass
class IngestReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "chunks_embedded": self.chunks_embedded,
            "problems": [{"file": file, "reason": reason} for file, reason in self.problems],
        }


def make_kb(settings: Settings) -> KnowledgeBase:
    from kb.embeddings import make_embedder
    from kb.retriever import make_chroma_client

    settings.ensure_dirs()
    client = make_chroma_client(path=str(settings.chroma_dir), url=settings.chroma_url)
    return KnowledgeBase(client=client, embedder=make_embedder(settings.embedding_model_dir))


def index_document(kb: KnowledgeBase, document: KbDocument) -> int:
    source = SourceDocument(
        slug=document.slug,
        title=document.title,
        content=document.content,
        kind=document.kind,
        questions=list(document.questions or []),
    )
    return kb.index(
        document_id=document.id,
        version=document.version,
        title=document.title,
        kind=document.kind,
        audience=document.audience,
        valid_from=document.valid_from,
        valid_to=document.valid_to,
        scope_community=document.scope_community,
        scope_building=document.scope_building,
        chunks=chunk_document(source),
    )


async def upsert_document(
    session: AsyncSession,
    source: SourceDocument,
    *,
    kb: KnowledgeBase,
    clock: Clock,
    actor: str,
    status: str = "active",
    note: str = "",
) -> tuple[KbDocument, str, int]:
    """Create or update one document: (document, "created"|"updated"|"unchanged", chunks embedded)."""
    document = await session.scalar(select(KbDocument).where(KbDocument.slug == source.slug))
    digest = source.content_hash
    if document is not None and document.content_hash == digest and document.status == status:
        return document, "unchanged", 0
    outcome = "created" if document is None else "updated"
    if document is None:
        document = KbDocument(slug=source.slug, version=0, content="", content_hash="")
        session.add(document)
    document.version += 1
    document.title = source.title
    document.kind = source.kind
    document.audience = source.audience
    document.content = source.content
    document.questions = source.questions
    document.tags = source.tags
    document.valid_from, document.valid_to = source.valid_from, source.valid_to
    document.scope_community, document.scope_building = source.scope_community, source.scope_building
    document.source_path = source.source_path
    document.content_hash = digest
    document.status = status
    document.updated_by = actor
    await session.flush()
    session.add(
        KbDocumentVersion(
            document_id=document.id,
            version=document.version,
            title=document.title,
            content=document.content,
            content_hash=digest,
            status=status,
            changed_by=actor,
            changed_at=clock.now(),
            note=note or outcome,
        )
    )
    await session.flush()
    embedded = 0
    if status == "active":
        embedded = index_document(kb, document)
    else:
        kb.remove(document.id)
    return document, outcome, embedded


async def ingest_paths(
    session: AsyncSession, paths: list[Path], *, kb: KnowledgeBase, clock: Clock, actor: str = "system"
) -> IngestReport:
    report = IngestReport()
    for path in discover(paths):
        try:
            sources = read_source(path)
        except SourceError as error:
            report.problems.append((str(path), str(error)))
            continue
        except OSError as error:
            report.problems.append((str(path), f"无法读取：{error.strerror or error}"))
            continue
        for source in sources:
            document, outcome, embedded = await upsert_document(
                session, source, kb=kb, clock=clock, actor=actor
            )
            getattr(report, outcome).append(document.slug)
            report.chunks_embedded += embedded
    return report

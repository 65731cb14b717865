"""Hybrid retrieval over Chroma: dense (e5) and lexical (jieba + BM25), fused by weighted RRF.

Filters decide what may answer at all, before ranking: only a resident's own 小区/楼's notices,
only documents valid today (by the company's local date), only resident-facing documents unless
the caller is staff. Retired documents have no vectors. ``confident`` is the abstain signal the
agent uses: the best surviving chunk's dense similarity (calibrated on evals/kb) must clear a
threshold, or the lexical match must be strong and agree with the dense ranking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kb.chunking import Chunk
from kb.embeddings import Embedder
from kb.lexical import BM25Index, tokenize

COLLECTION = "warmline_kb"
RRF_K = 60
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.5
DENSE_CONFIDENT = 0.875  # e5-small cosine; see evals/kb for the calibration
LEXICAL_REFRESH_S = 30.0
NO_DATE_FROM, NO_DATE_TO = 0, 99991231


def day_number(value: date | None, default: int) -> int:
    return int(value.strftime("%Y%m%d")) if value else default


@dataclass(frozen=True)
class Scope:
    today: date
    community: str | None = None
    building: str | None = None
    staff: bool = False

    def allows(self, meta: dict[str, Any]) -> bool:
        day = day_number(self.today, 0)
        if not (meta["valid_from"] <= day <= meta["valid_to"]):
            return False
        if not self.staff and meta["audience"] != "resident":
            return False
        if not meta["scope_community"]:
            return True
        if meta["scope_community"] != self.community:
            return False
        return not meta["scope_building"] or meta["scope_building"] == self.building

    def where(self) -> dict[str, Any]:
        day = day_number(self.today, 0)
        clauses: list[dict[str, Any]] = [{"valid_from": {"$lte": day}}, {"valid_to": {"$gte": day}}]
        if not self.staff:
            clauses.append({"audience": "resident"})
        places: list[dict[str, Any]] = [{"scope_community": ""}]
        if self.community:
            places.append({"$and": [{"scope_community": self.community}, {"scope_building": ""}]})
            if self.building:
                places.append(
                    {"$and": [{"scope_community": self.community}, {"scope_building": self.building}]}
                )
        clauses.append(places[0] if len(places) == 1 else {"$or": places})
        return {"$and": clauses}


@dataclass
class Passage:
    chunk_id: str
    document_id: str
    title: str
    section: str
    kind: str
    text: str
    score: float
    dense: float | None = None
    lexical: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    matched_terms: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    query: str
    passages: list[Passage]
    confident: bool
    confidence: float


class KnowledgeBase:
    def __init__(self, *, client: Any, embedder: Embedder, collection: str = COLLECTION) -> None:
        self.embedder = embedder
        self._collection = client.get_or_create_collection(
            collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._lexical: BM25Index | None = None
        self._chunks: dict[str, tuple[str, dict[str, Any]]] = {}
        self._loaded_at = 0.0

    # --- indexing -------------------------------------------------------------------------
    def index(
        self,
        *,
        document_id: str,
        version: int,
        title: str,
        kind: str,
        audience: str,
        valid_from: date | None,
        valid_to: date | None,
        scope_community: str | None,
        scope_building: str | None,
        chunks: list[Chunk],
    ) -> int:
        """Replace a document's vectors with these chunks; returns how many were embedded."""
        self.remove(document_id)
        if not chunks:
            return 0
        vectors = self.embedder.passages([chunk.text for chunk in chunks])
        meta = {
            "document_id": document_id,
            "version": version,
            "title": title,
            "kind": kind,
            "audience": audience,
            "valid_from": day_number(valid_from, NO_DATE_FROM),
            "valid_to": day_number(valid_to, NO_DATE_TO),
            "scope_community": scope_community or "",
            "scope_building": scope_building or "",
        }
        self._collection.add(
            ids=[f"{document_id}:{version}:{chunk.index}" for chunk in chunks],
            embeddings=vectors.tolist(),
            documents=[chunk.text for chunk in chunks],
            metadatas=[{**meta, "section": chunk.section, "body": chunk.body} for chunk in chunks],
        )
        self._lexical = None
        return len(chunks)

    def remove(self, document_id: str) -> None:
        self._collection.delete(where={"document_id": document_id})
        self._lexical = None

    def count(self) -> int:
        return int(self._collection.count())

    # --- search ---------------------------------------------------------------------------
    def _lexical_index(self) -> BM25Index:
        stale = time.monotonic() - self._loaded_at > LEXICAL_REFRESH_S
        if self._lexical is None or stale:
            data = self._collection.get(include=["documents", "metadatas"])
            self._chunks = {
                chunk_id: (text, meta)
                for chunk_id, text, meta in zip(
                    data["ids"], data["documents"], data["metadatas"], strict=True
                )
            }
            self._lexical = BM25Index(list(self._chunks), [text for text, _ in self._chunks.values()])
            self._loaded_at = time.monotonic()
        return self._lexical

    def search(self, query: str, *, scope: Scope, k: int = 4) -> SearchResult:
        lexical = self._lexical_index()
        if not self._chunks or not query.strip():
            return SearchResult(query, [], False, 0.0)
        vector = self.embedder.queries([query])[0]
        hits = self._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=min(max(k * 5, 20), len(self._chunks)),
            where=scope.where(),
            include=["metadatas", "distances"],
        )
        dense = {
            cid: 1.0 - float(dist) for cid, dist in zip(hits["ids"][0], hits["distances"][0], strict=True)
        }
        lexical_scores = {
            cid: score for cid, score in lexical.scores(query).items() if scope.allows(self._chunks[cid][1])
        }
        dense_rank = {
            cid: rank for rank, cid in enumerate(sorted(dense, key=dense.__getitem__, reverse=True), 1)
        }
        lexical_rank = {
            cid: rank
            for rank, cid in enumerate(
                sorted(lexical_scores, key=lexical_scores.__getitem__, reverse=True), 1
            )
        }
        fused = {
            cid: DENSE_WEIGHT / (RRF_K + dense_rank[cid]) if cid in dense_rank else 0.0
            for cid in set(dense_rank) | set(lexical_rank)
        }
        for cid, rank in lexical_rank.items():
            fused[cid] += LEXICAL_WEIGHT / (RRF_K + rank)
        order = sorted(fused, key=fused.__getitem__, reverse=True)
        terms = set(tokenize(query))
        passages = []
        seen_documents: set[str] = set()
        for cid in order:
            text, meta = self._chunks.get(cid) or ("", None)
            if meta is None:
                continue
            if meta["document_id"] in seen_documents and len(passages) >= 2:
                continue  # prefer breadth once the best two chunks are in
            seen_documents.add(meta["document_id"])
            passages.append(
                Passage(
                    chunk_id=cid,
                    document_id=meta["document_id"],
                    title=meta["title"],
                    section=meta.get("section", ""),
                    kind=meta["kind"],
                    text=meta.get("body") or text,
                    score=round(fused[cid], 5),
                    dense=round(dense[cid], 4) if cid in dense else None,
                    lexical=round(lexical_scores[cid], 3) if cid in lexical_scores else None,
                    dense_rank=dense_rank.get(cid),
                    lexical_rank=lexical_rank.get(cid),
                    matched_terms=sorted(terms & set(tokenize(text))),
                )
            )
            if len(passages) >= k:
                break
        top_dense = max(dense.values(), default=0.0)
        confident = bool(passages) and (
            top_dense >= DENSE_CONFIDENT
            or (
                passages[0].dense_rank == 1
                and passages[0].lexical_rank == 1
                and top_dense >= DENSE_CONFIDENT - 0.02
            )
        )
        return SearchResult(query, passages, confident, round(top_dense, 4))


def make_chroma_client(*, path: str | None = None, url: str | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    return chromadb.PersistentClient(path=path, settings=chroma_settings)


__all__ = ["KnowledgeBase", "Passage", "Scope", "SearchResult", "make_chroma_client"]

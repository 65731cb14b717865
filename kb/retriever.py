"""Hybrid retrieval over Chroma: dense (e5) and lexical (jieba + BM25), fused by weighted RRF.

Filters decide what may answer at all, before ranking: only a resident's own 小区/楼's notices,
only documents valid today (by the company's local date), only resident-facing documents unless
the caller is staff. Retired documents have no vectors. ``confident`` is the abstain signal the
agent uses: the best surviving chunk's dense similarity (calibrated on evals/kb) must clear a
threshold, or the lexical match must be strong and agree with the dense ranking.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

from kb.chunking import Chunk
from kb.embeddings import Embedder
from kb.lexical import BM25Index, clean, foreign_terms, tokenize
from kb.ranking import Passage, Tuning, boost_local, build_passages, fuse, is_confident

COLLECTION = "warmline_kb"
LEXICAL_REFRESH_S = 30.0
READ_PAGE = 5000
OVERFETCH = 4  # dense candidates fetched unfiltered per needed one
ADD_BATCH = 1000  # Chroma refuses batches over ~5,400
Mode = Literal["hybrid", "dense", "lexical"]
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
class SearchResult:
    query: str
    passages: list[Passage]
    confident: bool
    confidence: float
    unknown_terms: list[str] = field(default_factory=list)  # why an abstention happened, for hit tests


class KnowledgeBase:
    def __init__(
        self,
        *,
        client: Any,
        embedder: Embedder,
        collection: str = COLLECTION,
        tuning: Tuning | None = None,
    ) -> None:
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self._collection = client.get_or_create_collection(
            collection, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self._view: _ChunkView | None = None
        self._view_lock = threading.Lock()  # searches run in worker threads; one rebuilds the view
        self._tokens: dict[str, list[str]] = {}  # chunk id → tokens; ids carry the version, so never stale
        self._checked_at = 0.0

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
        ids = [f"{document_id}:{version}:{chunk.index}" for chunk in chunks]
        for start in range(0, len(ids), ADD_BATCH):
            stop = start + ADD_BATCH
            self._collection.add(
                ids=ids[start:stop],
                embeddings=vectors[start:stop].tolist(),
                documents=[chunk.text for chunk in chunks[start:stop]],
                metadatas=[
                    {**meta, "section": chunk.section, "body": chunk.body} for chunk in chunks[start:stop]
                ],
            )
        self._view = None
        return len(chunks)

    def remove(self, document_id: str) -> None:
        self._collection.delete(where={"document_id": document_id})
        self._view = None

    def count(self) -> int:
        return int(self._collection.count())

    def chunk_texts(self) -> list[tuple[str, dict[str, Any]]]:
        """Every chunk's (indexed text, metadata): what evaluators compare retrieval against."""
        return list(self._chunk_view().chunks.values())

    def chunk_vectors(self) -> list[tuple[str, np.ndarray]]:
        """Every chunk's indexed text with its stored vector: lets an evaluation building another
        store from the same documents reuse these instead of encoding them again."""
        pairs: list[tuple[str, np.ndarray]] = []
        offset = 0
        while True:
            page = self._collection.get(include=["documents", "embeddings"], limit=READ_PAGE, offset=offset)
            vectors = page.get("embeddings")
            if vectors is None:
                vectors = []
            pairs += [
                (text, np.asarray(vector, dtype=np.float32))
                for text, vector in zip(page.get("documents") or [], vectors, strict=True)
            ]
            if len(page["ids"]) < READ_PAGE:
                return pairs
            offset += READ_PAGE

    def _read_all(self, include: list[str]) -> dict[str, list[Any]]:
        """The whole collection in pages: one unpaged ``get`` past ~30k chunks fails inside Chroma's
        SQLite ("too many SQL variables"), measured at 50k by ``evals.bench_kb``."""
        out: dict[str, list[Any]] = {"ids": [], "documents": [], "metadatas": []}
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=READ_PAGE, offset=offset)
            out["ids"] += page["ids"]
            for key in ("documents", "metadatas"):
                out[key] += page.get(key) or []
            if len(page["ids"]) < READ_PAGE:
                return out
            offset += READ_PAGE

    # --- search ---------------------------------------------------------------------------
    def _chunk_view(self) -> _ChunkView:
        """The lexical side's view of the collection. Writes through this object drop it; writes by
        another process (a CLI ingest beside the server) are noticed by comparing ids every
        LEXICAL_REFRESH_S. Tokens are cached per chunk id, so a rebuild only segments new chunks."""
        view = self._view
        if view is not None and time.monotonic() - self._checked_at < LEXICAL_REFRESH_S:
            return view
        with self._view_lock:
            now = time.monotonic()
            if self._view is not None and now - self._checked_at < LEXICAL_REFRESH_S:
                return self._view  # another thread refreshed it while this one waited
            self._checked_at = now
            if self._view is not None:
                ids = self._read_all([])["ids"]
                if len(ids) == len(self._view.ids) and set(ids) == set(self._view.ids):
                    return self._view
            data = self._read_all(["documents", "metadatas"])
            for chunk_id, text in zip(data["ids"], data["documents"], strict=True):
                if chunk_id not in self._tokens:
                    self._tokens[chunk_id] = tokenize(text)
            live = set(data["ids"])
            self._tokens = {cid: tokens for cid, tokens in self._tokens.items() if cid in live}
            self._view = _ChunkView(data["ids"], data["documents"], data["metadatas"], self._tokens)
            return self._view

    def search(self, query: str, *, scope: Scope, k: int = 4, mode: Mode = "hybrid") -> SearchResult:
        """The best k passages for the query within the scope. ``mode`` restricts ranking to one side
        (evaluation compares them); the agent always uses the hybrid."""
        view = self._chunk_view()
        if not view.ids or not query.strip():
            return SearchResult(query, [], False, 0.0)
        tuning = self.tuning
        pool = min(max(k * 5, tuning.pool), len(view.ids))
        dense: dict[str, float] = {}
        if mode != "lexical":
            vector = self.embedder.queries([clean(query) if tuning.clean_dense else query])[0]
            dense = self._dense(vector.tolist(), scope=scope, pool=pool, total=len(view.ids))
        terms = tokenize(query)
        lexical: dict[str, float] = {}
        if mode != "dense":
            lexical = {view.ids[i]: score for i, score in view.bm25.top(terms, n=pool, mask=view.mask(scope))}
        fused = fuse(dense, lexical, tuning)
        if scope.community and tuning.local_boost:
            boost_local(fused, view.chunks, tuning.local_boost)
        passages = build_passages(
            sorted(fused, key=fused.__getitem__, reverse=True), fused, dense, lexical, view.chunks, terms, k
        )
        top_dense = max(dense.values(), default=0.0)
        unknown = foreign_terms(query, view.vocabulary)
        confident = bool(passages) and is_confident(passages[0], top_dense, unknown, tuning)
        return SearchResult(query, passages, confident, round(top_dense, 4), unknown)

    def _dense(self, vector: list[float], *, scope: Scope, pool: int, total: int) -> dict[str, float]:
        """Nearest chunks within the scope. Chroma's metadata ``where`` costs ~10x an unfiltered HNSW
        query at 10k chunks (78 ms vs 8 ms p50), so over-fetch unfiltered and apply ``Scope.allows``
        (the same rule as ``Scope.where``); only when the scope removed too many, ask Chroma to filter."""
        wanted = min(total, pool * OVERFETCH)
        hits = self._collection.query(
            query_embeddings=[vector], n_results=wanted, include=["distances", "metadatas"]
        )
        dense = {
            cid: 1.0 - float(dist)
            for cid, dist, meta in zip(
                hits["ids"][0], hits["distances"][0], hits["metadatas"][0], strict=True
            )
            if scope.allows(meta)
        }
        if len(dense) >= pool or wanted >= total:
            return dict(sorted(dense.items(), key=lambda item: item[1], reverse=True)[:pool])
        hits = self._collection.query(
            query_embeddings=[vector], n_results=pool, where=scope.where(), include=["distances"]
        )
        return {
            cid: 1.0 - float(dist) for cid, dist in zip(hits["ids"][0], hits["distances"][0], strict=True)
        }


class _ChunkView:
    """Chunk texts, metadata and the BM25 index, with metadata as arrays so a scope becomes a mask."""

    def __init__(
        self, ids: list[str], texts: list[str], metas: list[dict[str, Any]], tokens: dict[str, list[str]]
    ) -> None:
        self.ids = ids
        self.chunks = {cid: (text, meta) for cid, text, meta in zip(ids, texts, metas, strict=True)}
        self.bm25 = BM25Index(ids, [tokens[cid] for cid in ids])
        self.vocabulary = frozenset(token for cid in ids for token in tokens[cid])
        self._valid_from = np.array([m["valid_from"] for m in metas], dtype=np.int64)
        self._valid_to = np.array([m["valid_to"] for m in metas], dtype=np.int64)
        self._resident = np.array([m["audience"] == "resident" for m in metas], dtype=bool)
        self._community = np.array([m["scope_community"] for m in metas], dtype=object)
        self._building = np.array([m["scope_building"] for m in metas], dtype=object)
        self._company = self._community == ""

    def mask(self, scope: Scope) -> np.ndarray:
        day = day_number(scope.today, 0)
        allowed = (self._valid_from <= day) & (self._valid_to >= day)
        if not scope.staff:
            allowed &= self._resident
        place = self._company.copy()
        if scope.community:
            here = self._community == scope.community
            place |= here & ((self._building == "") | (self._building == (scope.building or "\0")))
        return allowed & place


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


__all__ = ["KnowledgeBase", "Passage", "Scope", "SearchResult", "Tuning", "fuse", "make_chroma_client"]

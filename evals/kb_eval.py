"""Knowledge-base retrieval evaluation: ranking quality per retrieval side, abstention, key facts, ragas.

    warmline eval kb [--qa evals/data/kb_qa.jsonl] [--json results.json]

A fresh KB is built in a temporary data directory from the demo documents through the ingestion
path users run (``ingest_paths``: registry rows, chunking, embedding), then every question is
searched with the scope and date it names. Metrics are document-level: a question is a hit at k
when any of its expected documents is among the first k passages' documents. The QA set and how it
was written are described in evals/data/kb_qa.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from kb.embeddings import Embedder
from kb.retriever import KnowledgeBase, Mode, Scope, SearchResult

HERE = Path(__file__).parent
DEFAULT_QA = HERE / "data" / "kb_qa.jsonl"
DEFAULT_DOCS = HERE.parent / "tools" / "demo" / "kb_docs"
DEFAULT_TODAY = date(2026, 11, 22)  # the demo clock's day
MODES: tuple[Mode, ...] = ("dense", "lexical", "hybrid")
DEPTH = 10  # passages read per question for MRR


@dataclass(frozen=True)
class QaItem:
    id: str
    question: str
    expected: list[str]
    facts: list[str] = field(default_factory=list)
    split: str = "dev"
    answerable: bool = True
    community: str | None = None
    building: str | None = None
    today: date = DEFAULT_TODAY

    def scope(self) -> Scope:
        return Scope(today=self.today, community=self.community, building=self.building)


def load_qa(path: Path) -> list[QaItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        scope = row.get("scope") or {}
        answerable = bool(row.get("answerable", True))
        if answerable and not row.get("expected"):
            raise ValueError(f"{path}:{number}: an answerable question needs expected documents")
        items.append(
            QaItem(
                id=row["id"],
                question=row["question"],
                expected=list(row.get("expected") or []),
                facts=list(row.get("facts") or []),
                split=row.get("split", "dev"),
                answerable=answerable,
                community=scope.get("community"),
                building=scope.get("building"),
                today=date.fromisoformat(row["today"]) if row.get("today") else DEFAULT_TODAY,
            )
        )
    return items


class _CachedQueries:
    """Encodes each question once although three retrieval modes (and tuning sweeps) search it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[str, np.ndarray] = {}

    def queries(self, texts: list[str]) -> np.ndarray:
        missing = [text for text in texts if text not in self._cache]
        if missing:
            self._cache.update(zip(missing, self.inner.queries(missing), strict=True))
        return np.stack([self._cache[text] for text in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.passages(texts)


async def build_kb(
    docs: Path, workdir: Path, *, embedder: Embedder | None = None
) -> tuple[KnowledgeBase, dict[str, str]]:
    """Ingest ``docs`` into a fresh SQLite registry and Chroma under ``workdir``; returns the KB and
    a map from registry ids (what passages carry) to document slugs (what the QA set names)."""
    from kb.embeddings import make_embedder
    from kb.ingest import ingest_paths
    from kb.models import KbDocument
    from kb.retriever import make_chroma_client
    from tools.clock import FixedClock
    from tools.db import Base, make_engine, make_sessionmaker, transaction
    from tools.settings import Settings

    settings = Settings(data_dir=workdir, database_url=None)
    settings.ensure_dirs()
    kb = KnowledgeBase(
        client=make_chroma_client(path=str(settings.chroma_dir)),
        embedder=_CachedQueries(embedder or make_embedder(settings.embedding_model_dir)),
    )
    engine = make_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = make_sessionmaker(engine)
        async with transaction(sessions) as session:
            report = await ingest_paths(session, [docs], kb=kb, clock=FixedClock(), actor="eval")
            if report.problems:
                raise RuntimeError(f"ingest problems: {report.problems}")
            rows = (await session.execute(select(KbDocument.id, KbDocument.slug))).all()
    finally:
        await engine.dispose()
    return kb, {row.id: row.slug for row in rows}


def _rank(result: SearchResult, expected: list[str], slug_of: dict[str, str]) -> int | None:
    documents: list[str] = []
    for passage in result.passages:
        slug = slug_of.get(passage.document_id, passage.document_id)
        if slug not in documents:
            documents.append(slug)
    return next((rank for rank, slug in enumerate(documents, 1) if slug in expected), None)


def _ranking(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@3": sum(1 for r in ranks if r is not None and r <= 3) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def _ragas_scores(samples: list[dict[str, list[str]]]) -> dict[str, float]:
    """ragas' string-distance context metrics (no LLM): how much of the reference chunks the top-3
    retrieved passages cover (recall) and how early the relevant ones come (precision)."""
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ragas 0.4 marks these imports deprecated, with no successor yet
        from ragas import SingleTurnSample
        from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

        precision, recall = NonLLMContextPrecisionWithReference(), NonLLMContextRecall()

        async def score() -> tuple[list[float], list[float]]:
            p, r = [], []
            for sample in samples:
                turn = SingleTurnSample(user_input="", **sample)
                p.append(float(await precision.single_turn_ascore(turn)))
                r.append(float(await recall.single_turn_ascore(turn)))
            return p, r

        p, r = asyncio.run(score()) if samples else ([], [])
    return {
        "ragas_context_precision": float(np.mean(p)) if p else 0.0,
        "ragas_context_recall": float(np.mean(r)) if r else 0.0,
    }


def _references(kb: KnowledgeBase, item: QaItem, slug_of: dict[str, str]) -> list[str]:
    """The expected documents' chunks that hold a key fact (all their chunks when none is named)."""
    bodies = [
        meta.get("body") or text
        for text, meta in kb.chunk_texts()
        if slug_of.get(meta["document_id"], meta["document_id"]) in item.expected
    ]
    with_facts = [body for body in bodies if any(fact in body for fact in item.facts)]
    return with_facts or bodies


def evaluate(
    kb: KnowledgeBase, items: list[QaItem], slug_of: dict[str, str], *, ragas: bool = True
) -> dict[str, Any]:
    """Metrics per split ("dev", "test", "all"), each with a ranking block per retrieval mode."""
    results: dict[str, Any] = {}
    splits = [*sorted({item.split for item in items}), "all"]
    searched = {
        (item.id, mode): kb.search(item.question, scope=item.scope(), k=DEPTH, mode=mode)
        for item in items
        for mode in MODES
    }
    for split in splits:
        chosen = [item for item in items if split in ("all", item.split)]
        answerable = [item for item in chosen if item.answerable]
        unanswerable = [item for item in chosen if not item.answerable]
        block: dict[str, Any] = {"questions": len(chosen), "answerable": len(answerable)}
        for mode in MODES:
            ranks = [_rank(searched[item.id, mode], item.expected, slug_of) for item in answerable]
            block[mode] = _ranking(ranks)
        hybrid = {item.id: searched[item.id, "hybrid"] for item in chosen}
        with_facts = [item for item in answerable if item.facts]
        found = [
            all(fact in "\n".join(p.text for p in hybrid[item.id].passages[:3]) for fact in item.facts)
            for item in with_facts
        ]
        block["fact_recall@3"] = sum(found) / (len(found) or 1)
        block["abstention"] = sum(not hybrid[i.id].confident for i in unanswerable) / (len(unanswerable) or 1)
        block["false_abstention"] = sum(not hybrid[i.id].confident for i in answerable) / (
            len(answerable) or 1
        )
        block["unanswerable"] = len(unanswerable)
        if ragas and answerable:
            block.update(
                _ragas_scores(
                    [
                        {
                            "retrieved_contexts": [p.text for p in hybrid[item.id].passages[:3]],
                            "reference_contexts": _references(kb, item, slug_of),
                        }
                        for item in answerable
                    ]
                )
            )
        results[split] = block
    results["misses"] = [
        {
            "id": item.id,
            "question": item.question,
            "expected": item.expected,
            "got": _top_slugs(searched[item.id, "hybrid"], slug_of),
        }
        for item in items
        if item.answerable and (_rank(searched[item.id, "hybrid"], item.expected, slug_of) or 99) > 3
    ]
    results["wrong_confidence"] = [
        {
            "id": item.id,
            "question": item.question,
            "confident": searched[item.id, "hybrid"].confident,
            "confidence": searched[item.id, "hybrid"].confidence,
        }
        for item in items
        if item.answerable != searched[item.id, "hybrid"].confident
    ]
    return results


def _top_slugs(result: SearchResult, slug_of: dict[str, str]) -> list[str]:
    return [slug_of.get(p.document_id, p.document_id) for p in result.passages[:3]]


def format_table(results: dict[str, Any]) -> str:
    splits = [name for name in results if isinstance(results[name], dict) and "questions" in results[name]]
    lines = [f"{'split':<6} {'mode':<8} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}"]
    for split in splits:
        for mode in MODES:
            m = results[split][mode]
            lines.append(f"{split:<6} {mode:<8} {m['hit@1']:>6.1%} {m['hit@3']:>6.1%} {m['mrr']:>6.3f}")
    lines.append("")
    header = f"{'split':<6} {'abstain(unans)':>14} {'false-abstain':>13} {'facts@3':>8}"
    extra = [
        key
        for key in ("ragas_context_precision", "ragas_context_recall", *LLM_METRICS)
        if any(key in results[s] for s in splits)
    ]
    lines.append(header + "".join(f" {key.removeprefix('ragas_'):>18}" for key in extra))
    for split in splits:
        b = results[split]
        row = f"{split:<6} {b['abstention']:>14.1%} {b['false_abstention']:>13.1%} {b['fact_recall@3']:>8.1%}"
        lines.append(row + "".join(f" {b.get(key, float('nan')):>18.3f}" for key in extra))
    return "\n".join(lines)


LLM_METRICS = ("llm_context_precision", "llm_context_recall")


def run(qa: Path = DEFAULT_QA, docs: Path = DEFAULT_DOCS, *, ragas: bool = True) -> dict[str, Any]:
    items = load_qa(qa)
    with tempfile.TemporaryDirectory(prefix="warmline-kb-eval-") as workdir:
        kb, slug_of = asyncio.run(build_kb(docs, Path(workdir)))
        results = evaluate(kb, items, slug_of, ragas=ragas)
        if ragas and os.environ.get("WARMLINE_LLM_BASE_URL"):
            from evals.kb_llm_judge import judge

            judge(kb, items, results)
    results["chunks"] = kb.count()
    return results

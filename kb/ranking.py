"""Ranking: fusing the dense and lexical candidate lists, building passages, deciding to abstain.

Pure functions over score dictionaries, so evaluation sweeps can vary ``Tuning`` without re-indexing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kb.lexical import tokenize


@dataclass(frozen=True)
class Tuning:
    """Ranking and abstention knobs, measured with ``warmline eval kb`` (see README for the figures)."""

    # Score fusion: dense cosine + 0.05 × BM25 / best BM25. On the dev half it beat weighted RRF
    # (best at lexical weight 0.7: hit@1 93.8%, MRR 0.965) with hit@1 95.3%, hit@3 100%, MRR 0.974.
    fusion: Literal["rrf", "score"] = "score"
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 0.05
    pool: int = 20  # candidates taken from each side before fusion
    dense_confident: float = 0.875  # e5-small cosine
    agreement_margin: float = 0.02
    foreign_confident: float = 0.93  # the bar when the question names things no chunk mentions
    clean_dense: bool = True  # embed the normalised, typo-fixed query
    # A notice scoped to the asker's building (half for their 小区) wins near ties with company-wide
    # documents: "我们楼为什么停暖" from 锦绣花园3号楼 is about that building's outage, not 报停.
    local_boost: float = 0.03


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


def fuse(dense: dict[str, float], lexical: dict[str, float], tuning: Tuning) -> dict[str, float]:
    """Weighted reciprocal-rank fusion, or a weighted sum of max-normalised scores ("score")."""
    fused: dict[str, float] = dict.fromkeys(set(dense) | set(lexical), 0.0)
    if tuning.fusion == "score":
        top_lexical = max(lexical.values(), default=1.0) or 1.0
        for cid, value in dense.items():
            fused[cid] += tuning.dense_weight * value
        for cid, value in lexical.items():
            fused[cid] += tuning.lexical_weight * value / top_lexical
        return fused
    for weight, scores in ((tuning.dense_weight, dense), (tuning.lexical_weight, lexical)):
        for rank, cid in enumerate(sorted(scores, key=scores.__getitem__, reverse=True), 1):
            fused[cid] += weight / (tuning.rrf_k + rank)
    return fused


def boost_local(fused: dict[str, float], chunks: dict[str, tuple[str, dict[str, Any]]], boost: float) -> None:
    """Raise chunks scoped to a building or 小区; the scope filter already dropped other places'."""
    for cid in fused:
        meta = (chunks.get(cid) or ("", {}))[1] or {}
        if meta.get("scope_building"):
            fused[cid] += boost
        elif meta.get("scope_community"):
            fused[cid] += boost / 2


def ranks(scores: dict[str, float]) -> dict[str, int]:
    return {cid: rank for rank, cid in enumerate(sorted(scores, key=scores.__getitem__, reverse=True), 1)}


def build_passages(
    order: list[str],
    fused: dict[str, float],
    dense: dict[str, float],
    lexical: dict[str, float],
    chunks: dict[str, tuple[str, dict[str, Any]]],
    terms: list[str],
    k: int,
) -> list[Passage]:
    dense_rank, lexical_rank = ranks(dense), ranks(lexical)
    query_terms = set(terms)
    passages: list[Passage] = []
    seen_documents: set[str] = set()
    for cid in order:
        text, meta = chunks.get(cid) or ("", None)
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
                lexical=round(lexical[cid], 3) if cid in lexical else None,
                dense_rank=dense_rank.get(cid),
                lexical_rank=lexical_rank.get(cid),
                matched_terms=sorted(query_terms & set(tokenize(text))),
            )
        )
        if len(passages) >= k:
            break
    return passages


def is_confident(best: Passage, top_dense: float, unknown: list[str], tuning: Tuning) -> bool:
    """The abstain signal. e5's cosines crowd into 0.84-0.95 whatever the question, so similarity
    alone cannot tell 燃气费在哪交 from 在哪交暖气费; a question naming things no chunk mentions
    must clear a higher bar. Otherwise the best dense similarity clears the threshold, or both
    rankings agree on the best chunk with a similarity just under it."""
    if unknown:
        return top_dense >= tuning.foreign_confident
    if top_dense >= tuning.dense_confident:
        return True
    return (
        best.dense_rank == 1
        and best.lexical_rank == 1
        and top_dense >= tuning.dense_confident - tuning.agreement_margin
    )

"""The classification and knowledge-base parts of the report, each beside its baseline.

Classification: the trained classifier against the keyword rules on the held-out set.
Knowledge base: the fused ranking against dense-only and BM25-only on the same fresh KB and
questions (``evals.kb_eval`` computes all three per question).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agent.classify import make_classifier
from agent.classify.classifier import load_examples
from evals.classify_baseline import KeywordClassifier
from evals.classify_eval import run as run_classification
from evals.kb_eval import DEFAULT_DOCS, DEFAULT_QA, QaItem, build_kb, evaluate, load_qa
from evals.report.profiles import Profile
from kb.embeddings import Embedder


def classification(profile: Profile, *, data_dir: Path | None) -> dict[str, Any]:
    model = make_classifier(data_dir)
    model.classify("暖气不热")  # load the model before anything is timed
    output = run_classification(
        {"model": model, "keyword": KeywordClassifier()},
        load_examples("test.jsonl"),
        smp_limit=profile.smp_limit,
        speed=profile.classify_speed,
    )
    return {"ours": "model", "baseline": "keyword", "results": output}


def pick_questions(items: list[QaItem], limit: int | None) -> list[QaItem]:
    """An even spread over the file within each (split, answerable) group, in proportion, so a
    small sample still has dev and test halves and its share of unanswerable questions."""
    if limit is None or limit >= len(items):
        return items
    groups: dict[tuple[str, bool], list[QaItem]] = {}
    for item in items:
        groups.setdefault((item.split, item.answerable), []).append(item)
    chosen: list[QaItem] = []
    for group in groups.values():
        n = max(1, round(limit * len(group) / len(items)))
        step = len(group) / n
        chosen += [group[int(i * step)] for i in range(min(n, len(group)))]
    return chosen


async def knowledge_base(
    profile: Profile, *, embedder: Embedder, workdir: Path, qa: Path = DEFAULT_QA, docs: Path = DEFAULT_DOCS
) -> dict[str, Any]:
    items = pick_questions(load_qa(qa), profile.kb_questions)
    kb, slug_of = await build_kb(docs, workdir, embedder=embedder)
    # evaluate() runs ragas through asyncio.run, so it needs a thread without a running loop.
    results = await asyncio.to_thread(evaluate, kb, items, slug_of, ragas=profile.ragas)
    results["chunks"] = kb.count()
    return {
        "ours": "hybrid",
        "baselines": ["dense", "lexical"],
        "questions": len(items),
        "ragas": profile.ragas,
        "results": results,
    }

"""Question mining: recent unanswered questions → hot topics (热点问题) → proposed FAQ entries.

Questions of this window and the previous one are embedded together with the knowledge base's
own embedder and grouped by average-linkage agglomerative clustering on cosine distance. e5's
raw cosines sit in a narrow band (0.80-0.97 for any two Chinese questions), so vectors are
centred on the batch mean first; that spreads paraphrases (≈0.3-0.7) away from other topics
(≈-0.3-0.1) and makes one threshold work. Each cluster is named by its most central question and
its top jieba keywords (热词); the trend compares its size in this window with the previous one.

Clusters of at least ``MIN_PROPOSAL`` questions become proposals (kb/proposals.py): nothing enters
the knowledge base until an admin approves it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kb.embeddings import Embedder
from kb.gaps import unanswered_between
from kb.lexical import tokenize
from kb.models import HotTopic, UnansweredQuestion
from kb.proposals import propose_from_cluster
from kb.retriever import KnowledgeBase
from tools.clock import Clock
from tools.db import new_id
from tools.logging import get_logger

log = get_logger(__name__)

WINDOW = timedelta(days=7)
# Calibrated on tests/kb/planted.py (3 themes x 10 + noise); see that test for the figures.
DENSE_SHARE = 0.4
DISTANCE_THRESHOLD = 0.88  # on 1 - blended similarity
ATTACH_RATIO = 0.2
RAW_FLOOR = 0.9
MIN_CENTRED = 8
MIN_TOPIC = 2
MIN_PROPOSAL = 3
MAX_TOPICS = 20
MAX_QUESTIONS = 2000
KEEP_RUNS_FOR = timedelta(days=30)
_STOP = {
    "怎么", "怎么办", "什么", "可以", "一下", "请问", "你们", "我们", "我家", "是不是", "为什么",
    "能不能", "哪里", "多少", "没有", "现在", "这个", "还是", "就是", "知道", "问下", "问问",
    "找谁", "家里", "需要", "一个",
}  # fmt: skip
_STOP_CHARS = set("吗的了我是要能有呢啊吧呀在和就都也还")


@dataclass
class Cluster:
    members: list[int]  # indexes into the mined texts, most central first
    keywords: list[str] = field(default_factory=list)


def _tokens(text: str) -> list[str]:
    return [word for word in tokenize(text) if word not in _STOP and word not in _STOP_CHARS]


def similarity_matrix(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Blend of centred e5 cosine and TF-IDF cosine over jieba words (synonyms folded).

    The lexical half matters: residents asking about one thing share its word (温控, 暖气片,
    补贴), while e5-small alone splits such a theme into several tight sub-clusters.
    """
    vectors = np.asarray(embedder.queries(texts), dtype=np.float64)
    if len(texts) >= MIN_CENTRED:
        vectors = vectors - vectors.mean(axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1.0, norms)
        dense = vectors @ vectors.T
    else:  # too few to centre on: map e5's usual band (0.9 loosely related … 1.0 same) to 0 … 1
        dense = np.clip((vectors @ vectors.T - RAW_FLOOR) / (1.0 - RAW_FLOOR), -1.0, 1.0)
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        matrix = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True).fit_transform(texts)
        lexical = (matrix @ matrix.T).toarray()
    except ValueError:  # no words left at all (only stop words)
        lexical = np.zeros_like(dense)
    return DENSE_SHARE * dense + (1 - DENSE_SHARE) * lexical


def keywords(texts: list[str], *, top: int = 5) -> list[str]:
    """热词: words most of the cluster's questions share, rarer words first among equals."""
    import jieba
    import jieba.analyse

    idf = jieba.analyse.default_tfidf.idf_freq
    median = jieba.analyse.default_tfidf.median_idf
    presence: Counter[str] = Counter()
    for text in texts:
        presence.update({w for w in jieba.lcut(text) if len(w) > 1 and w not in _STOP and not w.isdigit()})
    floor = 2 if len(texts) > 2 else 1
    ranked = sorted(presence, key=lambda w: (-presence[w], -idf.get(w, median), w))
    return [w for w in ranked if presence[w] >= floor][:top]


def _groups(similarity: np.ndarray) -> list[list[int]]:
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=DISTANCE_THRESHOLD
    ).fit_predict(np.clip(1.0 - similarity, 0.0, None))
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(index)
    big = [g for g in groups.values() if len(g) >= MIN_PROPOSAL]
    small = [g for g in groups.values() if len(g) < MIN_PROPOSAL]
    if not big:
        return [*groups.values()]
    # Average linkage leaves stragglers beside a theme; attach one when it is at least
    # ATTACH_RATIO as similar to a big cluster as that cluster's members are to each other.
    cohesion = [float((similarity[np.ix_(g, g)].sum() - len(g)) / (len(g) * (len(g) - 1))) for g in big]
    left: list[list[int]] = []
    for group in small:
        stay = []
        for index in group:
            scores = [
                float(similarity[index, g].mean()) / max(c, 1e-6) for g, c in zip(big, cohesion, strict=True)
            ]
            best = int(np.argmax(scores))
            if scores[best] >= ATTACH_RATIO:
                big[best].append(index)
            else:
                stay.append(index)
        if stay:
            left.append(stay)
    return big + left


def cluster_questions(embedder: Embedder, texts: list[str]) -> list[Cluster]:
    """Group texts into clusters, largest first; each cluster's members are ordered by centrality."""
    if not texts:
        return []
    if len(texts) == 1:
        return [Cluster([0], keywords(texts))]
    similarity = similarity_matrix(embedder, texts)
    clusters = []
    for members in _groups(similarity):
        centrality = {i: float(similarity[i, members].mean()) for i in members}
        members.sort(key=lambda i: (-centrality[i], i))
        clusters.append(Cluster(members, keywords([texts[i] for i in members])))
    clusters.sort(key=lambda c: (-len(c.members), c.members[0]))
    return clusters


def trend(count: int, previous: int) -> str:
    if previous == 0:
        return "new"
    if count >= previous * 1.5:
        return "rising"
    if count <= previous / 1.5:
        return "falling"
    return "steady"


def _scope(rows: list[UnansweredQuestion]) -> tuple[str | None, str | None]:
    """A topic is local only if every question came from the same 小区 (and building)."""
    places = {(row.scope_community, row.scope_building) for row in rows}
    communities = {community for community, _ in places}
    if len(communities) != 1 or None in communities:
        return None, None
    community = communities.pop()
    buildings = {building for _, building in places}
    return community, (buildings.pop() if len(buildings) == 1 else None)


async def mine_hot_topics(
    session: AsyncSession,
    *,
    kb: KnowledgeBase,
    clock: Clock,
    window: timedelta = WINDOW,
    min_proposal: int = MIN_PROPOSAL,
) -> dict[str, int | str]:
    """One mining run: store this window's hot topics and propose FAQ entries for the big ones."""
    now = clock.now()
    start, previous_start = now - window, now - 2 * window
    rows = (await unanswered_between(session, start=previous_start, end=now))[-MAX_QUESTIONS:]
    texts = sorted({row.question for row in rows})
    clusters = await asyncio.to_thread(cluster_questions, kb.embedder, texts)
    by_text: dict[str, list[UnansweredQuestion]] = {}
    for row in rows:
        by_text.setdefault(row.question, []).append(row)
    run_id, topics, created, updated = new_id(), 0, 0, 0
    ranked = []
    for cluster in clusters:
        members = [row for i in cluster.members for row in by_text[texts[i]]]
        current = [row for row in members if row.asked_at >= start]
        ranked.append((len(current), cluster, members, current))
    ranked.sort(key=lambda item: -item[0])
    for count, cluster, members, current in ranked[:MAX_TOPICS]:
        if count < MIN_TOPIC:
            continue
        ordered = [texts[i] for i in cluster.members if any(r.asked_at >= start for r in by_text[texts[i]])]
        frequency = Counter(row.question for row in current)
        examples = sorted(ordered, key=lambda text: -frequency[text])[:5]
        topic = HotTopic(
            run_id=run_id,
            mined_at=now,
            window_start=start,
            window_end=now,
            label=ordered[0],
            keywords=cluster.keywords,
            count=count,
            previous_count=len(members) - count,
            trend=trend(count, len(members) - count),
            examples=examples,
            question_ids=[row.id for row in current],
        )
        if count >= min_proposal:
            community, building = _scope(current)
            proposal, outcome = await propose_from_cluster(
                session,
                questions=ordered,
                asked_count=count,
                kb=kb,
                clock=clock,
                scope_community=community,
                scope_building=building,
            )
            topic.proposal_id = proposal.id
            created += outcome == "created"
            updated += outcome == "updated"
        session.add(topic)
        topics += 1
    await session.execute(delete(HotTopic).where(HotTopic.mined_at < now - KEEP_RUNS_FOR))
    await session.flush()
    summary: dict[str, int | str] = {
        "run_id": run_id,
        "questions": sum(1 for row in rows if row.asked_at >= start),
        "topics": topics,
        "proposals_created": created,
        "proposals_updated": updated,
    }
    log.info("kb_mining_done", **summary)
    return summary


async def latest_hot_topics(session: AsyncSession) -> list[HotTopic]:
    run_id = await session.scalar(select(HotTopic.run_id).order_by(HotTopic.mined_at.desc()).limit(1))
    if run_id is None:
        return []
    rows = await session.scalars(
        select(HotTopic).where(HotTopic.run_id == run_id).order_by(HotTopic.count.desc(), HotTopic.label)
    )
    return list(rows)


__all__ = ["cluster_questions", "latest_hot_topics", "mine_hot_topics", "trend"]

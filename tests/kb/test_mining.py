"""Hot-topic mining on planted questions, with the real e5 embedder (clustering quality is tested)."""

from datetime import timedelta
from pathlib import Path

import pytest

from kb.embeddings import E5Embedder
from kb.gaps import normalise_question, record_unanswered
from kb.mining import cluster_questions, latest_hot_topics, mine_hot_topics, trend
from kb.proposals import list_proposals
from kb.retriever import KnowledgeBase, make_chroma_client
from tests.kb.planted import NOISE, RADIATOR, SMART, SUBSIDY

THEMES = {"subsidy": SUBSIDY, "radiator": RADIATOR, "smart": SMART}


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder()


@pytest.fixture
def e5_kb(tmp_path: Path, e5: E5Embedder) -> KnowledgeBase:
    return KnowledgeBase(client=make_chroma_client(path=str(tmp_path / "chroma")), embedder=e5)


def _theme(text: str) -> str:
    """Stored questions are normalised (NFKC, lower case), so compare in that form."""
    return next(
        (
            name
            for name, texts in THEMES.items()
            if normalise_question(text) in {normalise_question(t) for t in texts}
        ),
        "noise",
    )


def test_planted_themes_come_out_as_three_clusters_and_noise_stays_apart(e5) -> None:
    texts = SUBSIDY + RADIATOR + SMART + NOISE
    clusters = cluster_questions(e5, texts)
    big = [c for c in clusters if len(c.members) >= 3]
    assert len(big) == 3
    for cluster in big:
        themes = [_theme(texts[i]) for i in cluster.members]
        main = max(set(themes), key=themes.count)
        # Measured: 11 / 10 / 9 — "暖气改造需要交钱吗" joins the subsidy (money) topic.
        assert themes.count(main) >= 8 and len(themes) - themes.count(main) <= 1
        assert "noise" not in themes
    assert sorted({_theme(texts[c.members[0]]) for c in big}) == ["radiator", "smart", "subsidy"]


def test_trend_compares_this_window_with_the_previous_one() -> None:
    assert [trend(5, 0), trend(9, 4), trend(5, 5), trend(2, 6)] == ["new", "rising", "steady", "falling"]


async def test_mining_stores_hot_topics_with_counts_trends_and_proposes_without_publishing(
    session, clock, e5_kb
) -> None:
    now = clock.now()
    planted = [
        (text, now - timedelta(hours=3 + n)) for n, text in enumerate(SUBSIDY + RADIATOR + SMART + NOISE)
    ]
    planted += [(text, now - timedelta(days=8)) for text in SUBSIDY[:4] + SMART]  # the previous week
    for n, (text, at) in enumerate(planted):
        await record_unanswered(
            session,
            question=text,
            message_id=f"m{n}",
            reason="abstained",
            confidence=0.8,
            clock=clock,
            asked_at=at,
        )
    summary = await mine_hot_topics(session, kb=e5_kb, clock=clock)
    assert summary["questions"] == 36 and summary["proposals_created"] == 3

    topics = await latest_hot_topics(session)
    big = [t for t in topics if t.count >= 3]
    assert len(big) == 3
    by_theme = {_theme(t.label): t for t in big}
    assert set(by_theme) == {"subsidy", "radiator", "smart"}
    assert all(8 <= t.count <= 12 for t in big)
    assert by_theme["radiator"].trend == "new" and by_theme["radiator"].previous_count == 0
    assert by_theme["subsidy"].trend == "rising" and by_theme["subsidy"].previous_count == 4
    assert by_theme["smart"].trend == "steady" and 8 <= by_theme["smart"].previous_count <= 10
    assert "暖气片" in by_theme["radiator"].keywords and any("温控" in k for k in by_theme["smart"].keywords)
    assert all(_theme(example) == "smart" for example in by_theme["smart"].examples)

    proposals = await list_proposals(session)
    assert len(proposals) == 3 and all(p.status == "proposed" and p.source == "mining" for p in proposals)
    assert {p.id for p in proposals} == {t.proposal_id for t in big}
    assert all(p.answer == "" and "请填写答案" in p.note for p in proposals)  # empty KB: nothing to prefill
    assert e5_kb.count() == 0  # nothing enters the KB without approval

    rerun = await mine_hot_topics(session, kb=e5_kb, clock=clock)
    assert rerun["proposals_created"] == 0 and rerun["proposals_updated"] == 3
    assert len(await list_proposals(session)) == 3

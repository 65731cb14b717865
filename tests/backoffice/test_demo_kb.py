"""The demo's self-update material: hot topics and proposals to review, loaded idempotently."""

from pathlib import Path

from sqlalchemy import func, select

from backoffice.demo_kb import PLANTED, seed_kb_curation
from kb.embeddings import E5Embedder
from kb.mining import latest_hot_topics
from kb.models import KbProposal, UnansweredQuestion
from kb.retriever import KnowledgeBase, make_chroma_client


async def test_demo_seed_gives_hot_topics_and_proposals_and_a_second_run_adds_nothing(
    session, clock, tmp_path: Path
) -> None:
    kb = KnowledgeBase(client=make_chroma_client(path=str(tmp_path / "chroma")), embedder=E5Embedder())
    first = await seed_kb_curation(session, kb=kb, clock=clock)
    second = await seed_kb_curation(session, kb=kb, clock=clock)
    gaps = await session.scalar(select(func.count()).select_from(UnansweredQuestion))
    proposals = list(await session.scalars(select(KbProposal)))
    assert gaps == len(PLANTED)
    assert first["proposals_created"] == 3 and second["proposals_created"] == 0
    assert len(proposals) == 3 and {p.status for p in proposals} == {"proposed"}
    labels = [t.label for t in await latest_hot_topics(session)]
    assert any("温控" in label for label in labels) and any("暖气片" in label for label in labels)

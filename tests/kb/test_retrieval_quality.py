"""Retrieval quality on the demo KB with the real e5 embedder (the session-wide ``demo_kb``).

A fast slice of evals/data/kb_qa.jsonl: the full set runs with ``warmline eval kb``.
"""

from datetime import date

import pytest

from evals.kb_eval import DEFAULT_QA, load_qa
from kb.retriever import KnowledgeBase, Scope

TODAY = date(2026, 11, 22)


def _documents(kb: KnowledgeBase, query: str, scope: Scope, k: int = 3) -> list[str]:
    return [passage.document_id for passage in kb.search(query, scope=scope, k=k).passages]


def test_twenty_dev_questions_find_an_expected_document_in_the_top_three(demo_kb: KnowledgeBase) -> None:
    dev = [item for item in load_qa(DEFAULT_QA) if item.split == "dev" and item.answerable][::3][:20]
    assert len(dev) == 20
    hits = [
        item.id for item in dev if set(_documents(demo_kb, item.question, item.scope())) & set(item.expected)
    ]
    assert len(hits) / len(dev) >= 0.9, sorted({item.id for item in dev} - set(hits))


@pytest.mark.parametrize(
    "question",
    ["燃气费在哪交", "帮我订个外卖", "公积金怎么提取", "夏天空调制冷你们管吗", "暖气费能用医保卡交吗"],
)
def test_questions_the_kb_cannot_answer_are_not_confident(demo_kb: KnowledgeBase, question: str) -> None:
    result = demo_kb.search(question, scope=Scope(today=TODAY), k=3)
    assert not result.confident


@pytest.mark.parametrize("question", ["暖气费多少", "暧气费多少钱", "报亭怎么办", "地热不热乎", "怎么开发票"])
def test_colloquial_and_mistyped_heating_questions_stay_confident(
    demo_kb: KnowledgeBase, question: str
) -> None:
    assert demo_kb.search(question, scope=Scope(today=TODAY), k=3).confident


def test_a_building_notice_reaches_only_that_building(demo_kb: KnowledgeBase) -> None:
    query = "锦绣花园3号楼停热时间"
    own = Scope(today=TODAY, community="锦绣花园", building="3号楼")
    assert _documents(demo_kb, query, own)[0] == "notice-jinxiu-3"
    for other in (
        Scope(today=TODAY, community="锦绣花园", building="5号楼"),
        Scope(today=TODAY, community="阳光小区", building="3号楼"),
        Scope(today=TODAY),
    ):
        assert "notice-jinxiu-3" not in _documents(demo_kb, query, other, k=10)


def test_notices_outside_their_validity_window_are_never_returned(demo_kb: KnowledgeBase) -> None:
    jinxiu = Scope(today=date(2026, 11, 24), community="锦绣花园", building="3号楼")
    assert "notice-jinxiu-3" not in _documents(demo_kb, "锦绣花园3号楼停热时间", jinxiu, k=10)
    assert "notice-pressure-test-2025" not in _documents(
        demo_kb, "2025年注水试压时间", Scope(today=TODAY), k=10
    )
    assert "notice-cold-snap" not in _documents(demo_kb, "寒潮预警温馨提示", Scope(today=TODAY), k=10)
    assert "notice-cold-snap" in _documents(demo_kb, "寒潮预警温馨提示", Scope(today=date(2026, 11, 25)))


def test_staff_documents_are_hidden_from_residents(demo_kb: KnowledgeBase) -> None:
    query = "坐席服务禁用语有哪些"
    assert "staff-service-standard" not in _documents(demo_kb, query, Scope(today=TODAY), k=10)
    assert _documents(demo_kb, query, Scope(today=TODAY, staff=True))[0] == "staff-service-standard"

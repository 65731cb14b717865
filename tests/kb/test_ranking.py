"""Ranking pieces without embeddings: the scope mask, BM25 top-n under a mask, fusion, foreign terms."""

from datetime import date

import numpy as np

from kb.lexical import BM25Index, foreign_terms, tokenize
from kb.ranking import Tuning
from kb.retriever import Scope, _ChunkView, fuse

TEXTS = [
    "采暖费每平方米26.00元",
    "锦绣花园3号楼停热通知",
    "锦绣花园全小区检修",
    "坐席服务规范",
    "2025年试压通知",
]
METAS = [
    {
        "valid_from": 0,
        "valid_to": 99991231,
        "audience": "resident",
        "scope_community": "",
        "scope_building": "",
    },
    {
        "valid_from": 20261122,
        "valid_to": 20261123,
        "audience": "resident",
        "scope_community": "锦绣花园",
        "scope_building": "3号楼",
    },
    {
        "valid_from": 0,
        "valid_to": 99991231,
        "audience": "resident",
        "scope_community": "锦绣花园",
        "scope_building": "",
    },
    {"valid_from": 0, "valid_to": 99991231, "audience": "staff", "scope_community": "", "scope_building": ""},
    {
        "valid_from": 20251001,
        "valid_to": 20251031,
        "audience": "resident",
        "scope_community": "",
        "scope_building": "",
    },
]


def _view() -> _ChunkView:
    ids = [f"c{i}" for i in range(len(TEXTS))]
    return _ChunkView(ids, TEXTS, METAS, {cid: tokenize(text) for cid, text in zip(ids, TEXTS, strict=True)})


def test_scope_mask_agrees_with_scope_allows_for_every_kind_of_caller() -> None:
    view = _view()
    scopes = [
        Scope(today=date(2026, 11, 22)),
        Scope(today=date(2026, 11, 22), community="锦绣花园"),
        Scope(today=date(2026, 11, 22), community="锦绣花园", building="3号楼"),
        Scope(today=date(2026, 11, 22), community="锦绣花园", building="5号楼"),
        Scope(today=date(2026, 11, 24), community="锦绣花园", building="3号楼"),
        Scope(today=date(2025, 10, 10), staff=True),
    ]
    for scope in scopes:
        assert view.mask(scope).tolist() == [scope.allows(meta) for meta in METAS], scope


def test_bm25_top_drops_masked_chunks_before_taking_the_top_n() -> None:
    view = _view()
    tokens = tokenize("锦绣花园停热")
    assert [view.ids[i] for i, _ in view.bm25.top(tokens, n=1)] == ["c1"]
    mask = np.array([True, False, True, True, True])
    assert [view.ids[i] for i, _ in view.bm25.top(tokens, n=1, mask=mask)] == ["c2"]
    assert BM25Index([], []).top(tokens, n=3) == []


def test_score_fusion_lets_lexical_break_a_dense_tie_and_rrf_rewards_agreement() -> None:
    dense = {"a": 0.90, "b": 0.90, "c": 0.80}
    lexical = {"b": 4.0, "c": 8.0}
    by_score = fuse(dense, lexical, Tuning(fusion="score", lexical_weight=0.05))
    assert max(by_score, key=by_score.__getitem__) == "b"
    by_rank = fuse(
        {"a": 0.9, "b": 0.8}, {"b": 5.0, "a": 1.0, "c": 9.0}, Tuning(fusion="rrf", lexical_weight=1.0)
    )
    assert by_rank["c"] < min(by_rank["a"], by_rank["b"])  # first on one side only loses to found by both


def test_foreign_terms_flag_things_the_kb_never_mentions_but_not_colloquial_phrasing() -> None:
    vocabulary = frozenset(token for text in TEXTS for token in tokenize(text)) | {"暖气", "不热"}
    assert "燃气" in foreign_terms("燃气费在哪交", vocabulary)
    assert foreign_terms("暖气不热怎么回事", vocabulary) == []
    assert foreign_terms("锦绣花园停热", vocabulary) == []


def test_pay_verbs_and_where_words_fold_to_the_documents_forms() -> None:
    # 在哪交费 must meet 可以在哪里交采暖费 / 缴费 on the lexical side; whole words stay whole.
    assert {"哪里", "缴费"} <= set(tokenize("在哪交费")) and "缴" in tokenize("暖氣費怎麼繳")
    assert "哪里" in tokenize("可以在哪里交采暖费") and "缴" in tokenize("公众号怎么交暖气费")
    assert "提交" in tokenize("提交申请")


def test_segmentation_accidents_generic_nouns_and_numbers_are_not_foreign() -> None:
    vocabulary = frozenset(token for text in TEXTS for token in tokenize(text)) | {"滞纳金", "手机号"}
    assert foreign_terms("晚交会不会有滞纳金，怎么算的", vocabulary) == []  # not 交会 (a crossing)
    assert foreign_terms("手机号换了，怎么改登记的号码", vocabulary) == []
    assert foreign_terms("欠2327一月二十号才交滞纳金多少", vocabulary) == []
    assert "股票" in "".join(foreign_terms("你们公司股票代码是多少", vocabulary))

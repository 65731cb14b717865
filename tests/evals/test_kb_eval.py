"""The KB evaluation runner on a tiny QA file and a three-document KB (built through real ingestion)."""

import json
import shutil
from pathlib import Path

from evals.kb_eval import DEFAULT_DOCS, format_table, run

QUESTIONS = [
    {
        "id": "a1",
        "question": "暖气费多少钱一平",
        "expected": ["tariffs-2026"],
        "facts": ["26.00元"],
        "split": "dev",
    },
    {
        "id": "a2",
        "question": "营业厅几点关门",
        "expected": ["service-halls"],
        "facts": ["8:30-17:00"],
        "split": "test",
    },
    {"id": "a3", "question": "怎么投诉", "expected": ["complaints"], "facts": ["96899"], "split": "test"},
    {"id": "u1", "question": "燃气费在哪交", "expected": [], "answerable": False, "split": "dev"},
]


def test_runner_reports_ranking_per_mode_and_split_plus_abstention_and_ragas(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("tariffs-2026.md", "service-halls.md", "complaints.md"):
        shutil.copy(DEFAULT_DOCS / name, docs / name)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in QUESTIONS), encoding="utf-8")

    results = run(qa, docs)

    assert set(results) >= {"dev", "test", "all"}
    for mode in ("dense", "lexical", "hybrid"):
        assert set(results["all"][mode]) == {"hit@1", "hit@3", "mrr"}
    assert results["all"]["hybrid"]["hit@3"] == 1.0  # three documents: every answer is in the top three
    assert results["all"]["answerable"] == 3 and results["all"]["unanswerable"] == 1
    assert 0.0 <= results["all"]["abstention"] <= 1.0
    assert results["all"]["fact_recall@3"] == 1.0
    assert 0.0 < results["all"]["ragas_context_recall"] <= 1.0
    table = format_table(results)
    assert "hybrid" in table and "abstain" in table and "context_recall" in table
    assert len(table.splitlines()) == 1 + 3 * 3 + 2 + 3

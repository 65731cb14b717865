"""``warmline eval all`` end to end on the minimal profile: one report folder with every part,
each beside its baseline, the run's provenance, and plots that are real images.

Not marked slow on purpose: this is the CI guard of the report pipeline (about a minute on two
cores, one run shared by the module's tests); ``--quick`` and the full profile differ only in sizes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from backoffice.app import create_app
from backoffice.cli import app as cli
from backoffice.migrate import upgrade
from evals.report.cache import CachingEmbedder
from evals.report.meta import mask_url
from evals.report.profiles import PROFILES
from evals.report.run import run_report
from kb.retriever import KnowledgeBase
from tools.settings import Settings

PLOTS = {
    "classification_accuracy.png",
    "classification_confusion.png",
    "kb_retrieval.png",
    "scenarios_pass_k.png",
    "load_latency.png",
}


@pytest.fixture(scope="module")
def minimal_report(tmp_path_factory: pytest.TempPathFactory, demo_kb: KnowledgeBase) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("eval-all")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=root / "data", database_url=None, llm_base_url=None, log_json=False
    )
    out = root / "report"
    asyncio.run(
        run_report(
            settings=settings,
            make_app=create_app,
            migrate=upgrade,
            profile=PROFILES["minimal"],
            out=out,
            echo=lambda *_: None,
            # The session's demo KB already encoded these documents: reuse its vectors.
            embedder=CachingEmbedder(demo_kb.embedder).remember(demo_kb.chunk_vectors()),
        )
    )
    return out, json.loads((out / "report.json").read_text(encoding="utf-8"))


def _in_unit(value: float) -> bool:
    return 0.0 <= value <= 1.0


def test_minimal_profile_writes_one_folder_with_every_part_and_its_baseline(minimal_report) -> None:
    out, report = minimal_report
    assert report["errors"] == {}
    assert {"report.md", "report.json", *PLOTS} <= {p.name for p in out.iterdir()}
    assert set(report["plots"]) == PLOTS

    meta = report["meta"]
    assert len(meta["git"]["commit"]) == 40 and isinstance(meta["git"]["dirty"], bool)
    assert meta["settings"]["model_backend"] == "offline policy" and meta["settings"]["embedder"]
    assert meta["machine"]["cpus"] >= 1 and set(report["timings"]) == {
        "classification",
        "kb",
        "scenarios",
        "load",
    }
    assert 0 < sum(report["timings"].values()) <= meta["seconds"]

    summary = report["summary"]
    for name in ("model", "keyword"):
        assert all(_in_unit(v) for v in summary["classification"][name].values())
    # The trained classifier must beat day-one keyword rules on categories, or it is not worth having.
    assert summary["classification"]["model"]["category"] > summary["classification"]["keyword"]["category"]
    for mode in ("hybrid", "dense", "lexical"):
        assert all(_in_unit(summary["kb"][mode][m]) for m in ("hit@1", "hit@3", "mrr"))
    assert summary["kb"]["hybrid"]["mrr"] >= max(
        summary["kb"]["dense"]["mrr"], summary["kb"]["lexical"]["mrr"]
    )

    scenarios = summary["scenarios"]
    assert scenarios["offline"]["scenarios"] == scenarios["offline_no_kb"]["scenarios"] == 6
    assert scenarios["offline"]["pass^1"] == 1.0, report["scenarios"]["summaries"]["offline"]["failures"]
    # Without documents the KB answers fail (the abstention one still passes): the KB is measurable.
    assert scenarios["offline_no_kb"]["pass^1"] < scenarios["offline"]["pass^1"]

    load = summary["load"]
    assert load["web"]["requests"] > 0 and load["wechat"]["requests"] > 0
    assert load["web"]["errors"] == load["wechat"]["errors"] == 0
    assert load["lost"] == load["duplicate_turns"] == 0
    # Drained: every message answered, every "success" followed by one reply through the API.
    assert load["unanswered"] == load["late_missing"] == 0
    # WeChat replies over 5 s are reported, not asserted: on a shared CI box they measure its load.
    assert 0 <= load["wechat_over_5s"] <= load["wechat"]["requests"]
    assert 0 < load["web"]["p50_ms"] <= load["web"]["p95_ms"] <= load["web"]["p99_ms"]
    assert len(report["load"]["latencies_ms"]["web"]) == load["web"]["requests"]


def test_report_markdown_sets_each_number_beside_its_baseline(minimal_report) -> None:
    out, report = minimal_report
    text = (out / "report.md").read_text(encoding="utf-8")
    for needle in (
        report["meta"]["git"]["commit"],
        "keyword rules (baseline)",
        "dense only",
        "BM25 only",
        "without KB pass^1 (baseline)",
        "| wechat |",
        "(classification_confusion.png)",
    ):
        assert needle in text, needle


def test_plots_are_valid_png_images(minimal_report) -> None:
    out, _ = minimal_report
    for name in PLOTS:
        with Image.open(out / name) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] >= 300 and image.size[1] >= 200


def test_urls_are_recorded_without_their_passwords() -> None:
    masked = mask_url("postgresql+psycopg://warmline:s3cret@db:5432/warmline")
    assert "s3cret" not in masked and masked.endswith("@db:5432/warmline")
    assert "hunter2" not in mask_url("redis://:hunter2@cache:6379/0")
    assert mask_url(None) is None


def test_an_unknown_profile_is_a_clear_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "all", "--profile", "huge", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "huge" in result.output
    assert not (tmp_path / "r").exists()

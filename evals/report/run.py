"""Run every part of the report in order and write the report folder.

A part that crashes is recorded with its error and the run goes on: one broken component must not
cost the other measurements. The caller (``warmline eval all``) turns recorded errors into a
failing exit code, so nothing broken passes silently.
"""

from __future__ import annotations

import json
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.classify import make_classifier
from evals.report import components, load_part, scenario_part
from evals.report.cache import CachingEmbedder
from evals.report.markdown import render
from evals.report.meta import git_info, machine_info, settings_info
from evals.report.plots import make_plots
from evals.report.profiles import Profile
from evals.scenarios.world import AppFactory, Migrate
from kb.embeddings import Embedder, make_embedder
from tools.settings import Settings

PARTS = ("classification", "kb", "scenarios", "load")


def default_out(root: Path = Path("reports")) -> Path:
    return root / f"eval-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a reader (and CI) checks first, ours beside the baseline."""
    summary: dict[str, Any] = {}
    if classification := report.get("classification"):
        results = classification["results"]
        summary["classification"] = {
            name: {key: results[name][key]["accuracy"] for key in ("category", "emotion", "urgency")}
            | {"emergency_recall": results[name]["emergency_recall"]}
            for name in ("model", "keyword")
        }
    if kb := report.get("kb"):
        block = kb["results"]["all"]
        summary["kb"] = {mode: block[mode] for mode in ("hybrid", "dense", "lexical")} | {
            "abstention": block["abstention"],
            "false_abstention": block["false_abstention"],
        }
    if scenarios := report.get("scenarios"):
        summary["scenarios"] = {name: data["overall"] for name, data in scenarios["summaries"].items()}
    if load := report.get("load"):
        summary["load"] = {
            channel: {key: load[channel][key] for key in ("requests", "errors", "p50_ms", "p95_ms", "p99_ms")}
            for channel in ("web", "wechat")
            if channel in load
        } | {
            "wechat_over_5s": load.get("wechat", {}).get("over_5s", 0),
            "lost": load["integrity"]["lost"],
            "unanswered": load["integrity"]["unanswered"],
            "duplicate_turns": load["integrity"]["duplicate_turns"],
            "late_missing": load["integrity"]["late_missing"],
        }
    return summary


async def run_report(
    *,
    settings: Settings,
    make_app: AppFactory,
    migrate: Migrate,
    profile: Profile,
    out: Path,
    echo: Callable[[str], None] = print,
    parts: tuple[str, ...] = PARTS,
    embedder: Embedder | None = None,
) -> dict[str, Any]:
    """``embedder`` lets a caller share vectors it already has (tests reuse the session's demo KB);
    by default one caching embedder serves every part, so each document is encoded once."""
    out.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(UTC), time.perf_counter()
    embedder = embedder or CachingEmbedder(make_embedder(settings.embedding_model_dir))
    classifier = make_classifier()  # the bundled model, as the scenario suite uses
    report: dict[str, Any] = {
        "meta": {
            "profile": profile.as_dict(),
            "started_at": started.isoformat(timespec="seconds"),
            "git": git_info(),
            "settings": settings_info(settings, embedder=embedder.name),
            "machine": machine_info(),
        },
        "timings": {},
        "errors": {},
    }
    with tempfile.TemporaryDirectory(prefix="warmline-eval-all-") as tmp:
        workdir = Path(tmp)
        steps: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "classification": lambda: _sync(components.classification, profile, data_dir=settings.data_dir),
            "kb": lambda: components.knowledge_base(profile, embedder=embedder, workdir=workdir / "kb"),
            "scenarios": lambda: scenario_part.scenarios(
                profile,
                settings=settings,
                make_app=make_app,
                migrate=migrate,
                embedder=embedder,
                classifier=classifier,
                workdir=workdir / "scenarios",
                echo=echo,
            ),
            "load": lambda: load_part.load(
                profile,
                workdir=workdir / "load",
                make_app=make_app,
                migrate=migrate,
                embedder=embedder,
                classifier=classifier,
            ),
        }
        for name in parts:
            echo(f"== {name} ({profile.name})")
            begun = time.perf_counter()
            try:
                report[name] = await steps[name]()
            except Exception as error:  # recorded, reported, and turned into a failing exit code
                report["errors"][name] = f"{type(error).__name__}: {error}"
                echo(traceback.format_exc())
            report["timings"][name] = round(time.perf_counter() - begun, 1)
            echo(f"   {name}: {report['timings'][name]} s")
    report["summary"] = headline(report)
    report["plots"] = make_plots(report, out)
    report["meta"]["seconds"] = round(time.perf_counter() - clock, 1)
    report["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (out / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    (out / "report.md").write_text(render(report), encoding="utf-8")
    return report


async def _sync(function: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    return function(*args, **kwargs)

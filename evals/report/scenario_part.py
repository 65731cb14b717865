"""The scenario part of the report: the suite through served instances, with and without a KB.

"Bot without KB" is the same demo company, seeded the same way, whose documents were never
ingested (a fresh data directory before ``warmline kb ingest``): what the tools and the policy
achieve alone. The gap to the normal run is what the knowledge base is worth, per capability.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.llm import make_chat_model
from agent.policy.model import OfflinePolicyModel
from evals.report.profiles import Profile
from evals.scenarios.report import choose
from evals.scenarios.runner import RunResult, run_all
from evals.scenarios.spec import Scenario, load_scenarios
from evals.scenarios.world import DEMO_DOCS, AppFactory, Migrate, World
from kb.embeddings import Embedder
from kb.retriever import KnowledgeBase, make_chroma_client
from tools.settings import Settings

NO_KB = "offline_no_kb"


def select(profile: Profile, scenarios: list[Scenario] | None = None) -> list[Scenario]:
    scenarios = scenarios if scenarios is not None else load_scenarios()
    if profile.scenarios == "all":
        return scenarios
    if profile.scenarios == "quick":
        return choose(scenarios, quick=True, only=None)
    wanted = set(profile.scenarios)
    chosen = [s for s in scenarios if s.id in wanted]
    missing = wanted - {s.id for s in chosen}
    if missing:
        raise ValueError(f"profile {profile.name} names unknown scenarios: {sorted(missing)}")
    return chosen


async def scenarios(
    profile: Profile,
    *,
    settings: Settings,
    make_app: AppFactory,
    migrate: Migrate,
    embedder: Embedder,
    classifier: Any,
    workdir: Path,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    chosen = select(profile)
    # (model, documents, k): the no-KB baseline runs once per scenario; the offline policy is
    # deterministic, so its pass^1 is the figure to set beside ours.
    configs: dict[str, tuple[Any, Path | None, int]] = {
        "offline": (OfflinePolicyModel(), DEMO_DOCS, profile.k),
        NO_KB: (OfflinePolicyModel(), None, 1),
    }
    if settings.llm_base_url and profile.name != "minimal":
        configs["llm"] = (make_chat_model(settings), DEMO_DOCS, profile.k)
    summaries: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    for name, (model, docs, k) in configs.items():
        kb = KnowledgeBase(client=make_chroma_client(path=str(workdir / f"chroma-{name}")), embedder=embedder)
        world = World(
            workdir / name, make_app=make_app, migrate=migrate, kb=kb, classifier=classifier, docs=docs
        )
        world.root.mkdir(parents=True)

        def progress(result: RunResult, name: str = name) -> None:
            mark = "✓" if result.passed else "✗"
            echo(f"  [{name}] {mark} {result.scenario} #{result.trial + 1} ({result.seconds:.1f}s)")

        results, summary = await run_all(world, chosen, k=k, docs_dir=docs, model=model, progress=progress)
        summaries[name] = summary
        runs[name] = [
            {
                "scenario": r.scenario,
                "capability": r.capability,
                "trial": r.trial,
                "passed": r.passed,
                "problems": r.problems,
                "seconds": round(r.seconds, 2),
            }
            for r in results
        ]
    return {
        "ours": "offline",
        "baseline": NO_KB,
        "scenarios": len(chosen),
        "ids": [s.id for s in chosen],
        "k": profile.k,
        "summaries": summaries,
        "runs": runs,
    }

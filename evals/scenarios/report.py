"""``warmline eval scenarios``: run the scenario suite, print pass^1 / pass^k per capability.

The offline policy always runs; when ``WARMLINE_LLM_BASE_URL`` is configured the same scenarios run
again with that model and both columns are printed side by side.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from agent.classify import make_classifier
from agent.llm import make_chat_model
from agent.policy.model import OfflinePolicyModel
from evals.scenarios.runner import RunResult, run_all
from evals.scenarios.spec import Scenario, load_scenarios
from evals.scenarios.world import DEMO_DOCS, AppFactory, Migrate, World
from kb.embeddings import make_embedder
from kb.retriever import KnowledgeBase, make_chroma_client
from tools.settings import Settings


def choose(scenarios: list[Scenario], *, quick: bool, only: str | None) -> list[Scenario]:
    chosen = [s for s in scenarios if s.quick] if quick else scenarios
    if only:
        wanted = {part.strip() for part in only.split(",")}
        chosen = [s for s in chosen if s.id in wanted or s.capability in wanted]
    return chosen


def format_table(summaries: dict[str, dict[str, Any]]) -> str:
    backends = list(summaries)
    k = next(iter(summaries.values()))["k"]
    keys = ["pass^1"] if k == 1 else ["pass^1", f"pass^{k}"]  # with k=1 the two columns are one
    head = "| capability | scenarios | " + " | ".join(f"{b} {key}" for b in backends for key in keys) + " |"
    lines = [head, "|" + "---|" * (2 + len(keys) * len(backends))]
    first = summaries[backends[0]]
    for capability in [*first["capabilities"], "overall"]:
        row = first["overall"] if capability == "overall" else first["capabilities"][capability]
        cells = []
        for backend in backends:
            data = summaries[backend]
            score = data["overall"] if capability == "overall" else data["capabilities"].get(capability, {})
            cells += [f"{score.get(key, 0):.0%}" for key in keys]
        name = f"**{capability}**" if capability == "overall" else capability
        lines.append(f"| {name} | {row['scenarios']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def run_cli(
    *,
    settings: Settings,
    make_app: AppFactory,
    migrate: Migrate,
    k: int = 4,
    quick: bool = False,
    only: str | None = None,
    json_path: Path | None = None,
    echo: Any = print,
) -> dict[str, Any]:
    scenarios = choose(load_scenarios(), quick=quick, only=only)
    if not scenarios:
        raise ValueError("没有符合条件的场景")
    backends: dict[str, Any] = {"offline": OfflinePolicyModel()}
    if settings.llm_base_url:
        backends["llm"] = make_chat_model(settings)
    summaries: dict[str, dict[str, Any]] = {}
    details: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="warmline-scenarios-") as tmp:
        root = Path(tmp)
        embedder = make_embedder(settings.embedding_model_dir)
        classifier = make_classifier()
        for name, model in backends.items():
            # One knowledge base per backend: the template's registry and the vectors must agree.
            kb = KnowledgeBase(
                client=make_chroma_client(path=str(root / f"chroma-{name}")), embedder=embedder
            )
            world = World(root / name, make_app=make_app, migrate=migrate, kb=kb, classifier=classifier)
            world.root.mkdir()

            def progress(result: RunResult, name: str = name) -> None:
                mark = "✓" if result.passed else "✗"
                echo(f"[{name}] {mark} {result.scenario} #{result.trial + 1} ({result.seconds:.1f}s)")
                for problem in result.problems[:3]:
                    echo(f"      {problem}")

            results, summary = await run_all(
                world, scenarios, k=k, docs_dir=DEMO_DOCS, model=model, progress=progress
            )
            summaries[name] = summary
            details[name] = [r.__dict__ for r in results]
    echo("")
    echo(format_table(summaries))
    report = {"summaries": summaries, "runs": details}
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return report

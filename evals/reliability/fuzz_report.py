"""``warmline eval fuzz``: every bad-input fuzzer against fresh demo companies, one report.

1. schemathesis over the whole OpenAPI (every operation, every check, stateful links);
2. hypothesis XML bodies at the official account (plaintext and 安全模式) and the payment callback;
3. the XML bombs, timed and measured.

Each part gets its own company in a temporary directory (the fuzzers write freely); the knowledge
base and classifier are built once and shared. Exit status: 0 only when every figure is zero.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.classify import make_classifier
from evals.reliability.bombs import expat_version, format_bombs, run_bombs
from evals.reliability.company import DEMO_ACCOUNT, AppFactory, Migrate, make_company
from evals.reliability.openapi_fuzz import format_report, run_openapi_fuzz, stop_apps
from evals.reliability.xml_fuzz import format_xml_report, random_aes_key, run_pay_fuzz, run_wechat_fuzz
from kb.embeddings import make_embedder
from kb.retriever import KnowledgeBase, make_chroma_client
from tools.logging import configure_logging
from tools.settings import Settings

PARTS = ("openapi", "xml", "bombs")


def run_cli(
    *,
    settings: Settings,
    make_app: AppFactory,
    migrate: Migrate,
    examples: int,
    xml_bodies: int,
    seed: int,
    parts: tuple[str, ...] = PARTS,
    json_path: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    configure_logging(level="ERROR", json=False)  # tens of thousands of refusals would bury the report
    summary: dict[str, Any] = {"expat": ".".join(map(str, expat_version()))}
    with tempfile.TemporaryDirectory(prefix="warmline-fuzz-") as tmp:
        root = Path(tmp)
        kb = KnowledgeBase(
            client=make_chroma_client(path=str(root / "chroma")),
            embedder=make_embedder(settings.embedding_model_dir),
        )
        classifier = make_classifier()

        def company(name: str, **overrides: Any) -> Any:
            return make_company(
                root / name, make_app=make_app, migrate=migrate, kb=kb, classifier=classifier, **overrides
            )

        if "openapi" in parts:
            target = company("openapi")
            try:
                report = run_openapi_fuzz(
                    target.app,
                    examples=examples,
                    seed=seed,
                    progress=lambda label: echo(f"  … {time.strftime('%H:%M:%S')} {label}"),
                )
            finally:
                stop_apps()
            for line in format_report(report, examples=examples):
                echo(line)
            summary["openapi"] = {
                "operations": len(report.operations),
                "cases": report.cases,
                "server_errors": report.server_errors,
                "schema_violations": report.schema_violations,
                "other_failures": report.other_failures,
                "phases": report.phases,
                "skipped": report.skipped,
                "per_operation": {
                    name: {
                        "cases": op.cases,
                        "5xx": op.server_errors,
                        "schema_violations": op.schema_violations,
                        "other_failures": op.other_failures,
                        "failures": dict(op.failures),
                    }
                    for name, op in report.operations.items()
                },
            }
        if "xml" in parts:
            summary["xml"] = {}
            plain = company("wechat-plain")
            aes_key = random_aes_key()
            secure = company("wechat-secure", wechat_aes_key=aes_key)
            runs = [
                lambda: run_wechat_fuzz(
                    plain.app,
                    token=plain.settings.wechat_token,
                    app_id=plain.settings.wechat_app_id,
                    aes_key=None,
                    examples=xml_bodies,
                    run_seed=seed,
                ),
                lambda: run_wechat_fuzz(
                    secure.app,
                    token=secure.settings.wechat_token,
                    app_id=secure.settings.wechat_app_id,
                    aes_key=aes_key,
                    examples=xml_bodies,
                    run_seed=seed,
                ),
                lambda: run_pay_fuzz(
                    plain.settings,
                    clock=plain.clock,
                    examples=xml_bodies,
                    account_no=DEMO_ACCOUNT[0],
                    run_seed=seed,
                ),
            ]
            for run in runs:
                xml_report = run()
                for line in format_xml_report(xml_report):
                    echo(line)
                summary["xml"][xml_report.target] = {
                    "bodies": xml_report.sent,
                    "server_errors": xml_report.server_errors,
                    "violations": xml_report.violations,
                    "control_ok": xml_report.control_ok,
                    "kinds": {kind: dict(stats.statuses) for kind, stats in xml_report.kinds.items()},
                }
        if "bombs" in parts:
            target = company("bombs")
            results = run_bombs(target.app, token=target.settings.wechat_token)
            for line in format_bombs(results):
                echo(line)
            summary["bombs"] = [{**result.__dict__, "ok": result.ok} for result in results]
    summary["ok"] = passed(summary)
    echo("结论：" + ("全部通过（0 个 5xx、0 个违反模式、0 个违规）" if summary["ok"] else "有失败项，见上"))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return summary


def passed(summary: dict[str, Any]) -> bool:
    openapi = summary.get("openapi")
    if openapi and (openapi["server_errors"] or openapi["schema_violations"] or openapi["other_failures"]):
        return False
    for run in summary.get("xml", {}).values():
        if run["server_errors"] or run["violations"] or not run["control_ok"]:
            return False
    return all(bomb["ok"] for bomb in summary.get("bombs", []))

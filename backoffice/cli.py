"""The ``warmline`` command: a composition root that builds settings and services, then acts."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tools.logging import configure_logging
from tools.settings import Settings

app = typer.Typer(help="暖线 Warmline：供热企业智能客服", no_args_is_help=True, add_completion=False)
import_app = typer.Typer(help="导入住户、账单、维修师傅 CSV", no_args_is_help=True)
app.add_typer(import_app, name="import")
kb_app = typer.Typer(help="知识库：导入文档、检索", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
wechat_app = typer.Typer(help="微信公众号：发布菜单", no_args_is_help=True)
app.add_typer(wechat_app, name="wechat")
eval_app = typer.Typer(help="评测：知识库检索等", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

HostOpt = Annotated[str, typer.Option(help="监听地址")]
PortOpt = Annotated[int, typer.Option(help="监听端口")]


def _settings() -> Settings:
    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    return settings


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from backoffice.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, proxy_headers=True)


@app.command()
def migrate() -> None:
    """升级数据库结构到最新版本。"""
    from backoffice.migrate import upgrade

    upgrade(_settings())
    typer.echo("数据库已是最新结构")


@app.command()
def serve(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """启动 HTTP 服务（先自动迁移数据库）。"""
    from backoffice.migrate import upgrade

    settings = _settings()
    upgrade(settings)
    _serve(settings, host, port)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Celery 引擎的并发进程数")] = 2,
) -> None:
    """运行后台任务（分布式部署时单独运行；内嵌模式下任务随服务进程运行）。

    WARMLINE_JOB_ENGINE=celery 时运行 Celery worker（另需一个 `warmline beat`）。
    """
    from backoffice.deps import make_services
    from backoffice.jobs import Scheduler, default_jobs

    settings = _settings()
    if settings.job_engine == "celery":
        from backoffice.celery_app import make_celery_app

        celery = make_celery_app(settings)
        celery.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}"])
        return

    async def run() -> None:
        services = make_services(settings)
        scheduler = Scheduler(services, default_jobs())
        scheduler.start()
        try:
            await asyncio.Event().wait()
        finally:
            await scheduler.stop()
            await services.engine.dispose()

    asyncio.run(run())


@app.command()
def beat() -> None:
    """运行 Celery 定时调度（WARMLINE_JOB_ENGINE=celery 时，全局只运行一个）。"""
    settings = _settings()
    if settings.job_engine != "celery":
        typer.echo(
            "beat 只用于 WARMLINE_JOB_ENGINE=celery；内嵌任务由服务或 `warmline worker` 调度", err=True
        )
        raise typer.Exit(2)
    from backoffice.celery_app import make_celery_app

    settings.ensure_dirs()
    make_celery_app(settings).start(["beat", "--loglevel=INFO"])


@app.command()
def demo(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="只写入演示数据，不启动服务")] = False,
) -> None:
    """写入演示供热公司（可重复执行）并启动服务。"""
    from backoffice.demo import load_demo
    from backoffice.migrate import upgrade

    settings = _settings()
    upgrade(settings)
    summary = asyncio.run(load_demo(settings))
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    if not no_serve:
        typer.echo(f"演示公司已就绪：http://{host}:{port}/docs  （后台账号见 README）")
        _serve(settings, host, port)


def _run_import(kind: str, path: Path) -> None:
    from backoffice.migrate import upgrade
    from tools.clock import SystemClock
    from tools.db import make_engine, make_sessionmaker
    from tools.importing import import_csv

    settings = _settings()
    upgrade(settings)

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                report = await import_csv(session, kind=kind, path=path, clock=SystemClock())
                if report.errors:
                    await session.rollback()
                else:
                    await session.commit()
        finally:
            await engine.dispose()
        for error in report.errors:
            typer.echo(f"第 {error.line} 行：{error.reason}", err=True)
        if report.errors:
            typer.echo(f"导入失败：{len(report.errors)} 行有错误，未写入任何数据", err=True)
            return 1
        typer.echo(f"导入成功：新增 {report.created} 条，更新 {report.updated} 条")
        return 0

    code = asyncio.run(run())
    if code:
        raise typer.Exit(code)


@import_app.command("residents")
def import_residents(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """导入住户与户号（CSV）。"""
    _run_import("residents", file)


@import_app.command("bills")
def import_bills(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """导入账单（CSV）。"""
    _run_import("bills", file)


@import_app.command("workers")
def import_workers(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """导入维修师傅（CSV）。"""
    _run_import("workers", file)


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="文件或文件夹：.md .txt .html .pdf .docx .yaml")],
) -> None:
    """导入知识库文档（只重新处理有变化的文档）。"""
    from backoffice.migrate import upgrade
    from kb.ingest import ingest_paths, make_kb
    from tools.clock import SystemClock
    from tools.db import make_engine, make_sessionmaker, transaction

    settings = _settings()
    upgrade(settings)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        typer.echo(f"找不到：{', '.join(missing)}", err=True)
        raise typer.Exit(2)

    async def run() -> dict:
        engine = make_engine(settings)
        try:
            async with transaction(make_sessionmaker(engine)) as session:
                report = await ingest_paths(
                    session, paths, kb=make_kb(settings), clock=SystemClock(), actor="cli"
                )
            return report.as_dict()
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    if result["problems"] and not (result["created"] or result["updated"] or result["unchanged"]):
        raise typer.Exit(1)


@kb_app.command("search")
def kb_search(
    query: str,
    k: Annotated[int, typer.Option(help="返回条数")] = 5,
    community: Annotated[str | None, typer.Option(help="按小区范围检索")] = None,
    building: Annotated[str | None, typer.Option(help="按楼号范围检索")] = None,
    staff: Annotated[bool, typer.Option(help="包含内部文档")] = False,
) -> None:
    """检索知识库（命中测试），打印每条结果的得分和原因。"""
    from kb.ingest import make_kb
    from kb.retriever import Scope
    from tools.clock import SystemClock, local_date

    settings = _settings()
    scope = Scope(today=local_date(SystemClock()), community=community, building=building, staff=staff)
    result = make_kb(settings).search(query, scope=scope, k=k)
    output = {
        "query": query,
        "confident": result.confident,
        "confidence": result.confidence,
        "unknown_terms": result.unknown_terms,
        "passages": [passage.__dict__ for passage in result.passages],
    }
    typer.echo(json.dumps(output, ensure_ascii=False, indent=2))


@eval_app.command("kb")
def eval_kb(
    qa: Annotated[Path | None, typer.Option(help="问答集 JSONL（默认 evals/data/kb_qa.jsonl）")] = None,
    docs: Annotated[Path | None, typer.Option(help="知识库文档文件夹（默认演示知识库）")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="把结果写入 JSON 文件")] = None,
) -> None:
    """评测知识库检索：命中率、MRR、拒答率、关键信息召回、ragas 指标（在临时目录新建知识库）。"""
    from evals.kb_eval import DEFAULT_DOCS, DEFAULT_QA, format_table, run

    results = run(qa or DEFAULT_QA, docs or DEFAULT_DOCS)
    typer.echo(format_table(results))
    if json_path is not None:
        json_path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
        typer.echo(f"结果已写入 {json_path}")


@wechat_app.command("publish-menu")
def wechat_publish_menu(
    file: Annotated[Path | None, typer.Option(help="菜单 JSON；默认 channels/wechat/menu.json")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只校验并打印，不发布")] = False,
) -> None:
    """校验并发布公众号自定义菜单（调用微信 menu/create）。"""
    from channels.wechat.client import WeChatApi, WeChatApiError
    from channels.wechat.menu import MENU_FILE, MenuError, load_menu, publish_menu

    settings = _settings()
    path = file or MENU_FILE
    try:
        if dry_run:
            menu = load_menu(path)
        else:
            menu = asyncio.run(publish_menu(WeChatApi.from_settings(settings), path))
    except (MenuError, WeChatApiError) as exc:
        typer.echo(f"菜单发布失败：{exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(menu, ensure_ascii=False, indent=2))
    typer.echo("菜单校验通过（未发布）" if dry_run else "菜单已发布")


@app.command()
def classify(text: str) -> None:
    """对一条住户消息分类，输出 JSON（类别、情绪、紧急程度、置信度）。"""
    from agent.classify import make_classifier

    result = make_classifier(_settings().data_dir).classify(text)
    typer.echo(
        json.dumps(
            {
                "category": result.category,
                "emotion": result.emotion,
                "urgency": result.urgency,
                "confidence": result.confidence,
                "emotion_confidence": result.emotion_confidence,
                "urgency_reasons": result.urgency_reasons,
            },
            ensure_ascii=False,
        )
    )


@eval_app.command("scenarios")
def eval_scenarios(
    k: Annotated[int, typer.Option(min=1, max=10, help="每个场景运行次数（pass^k 的 k）")] = 4,
    quick: Annotated[bool, typer.Option(help="只跑标记为 quick 的场景（CI 用）")] = False,
    only: Annotated[str | None, typer.Option(help="只跑这些场景 id 或能力，逗号分隔")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="把结果写成 JSON")] = None,
) -> None:
    """tau-bench 风格的场景评测：通过真实 HTTP 接口对话，按数据库终态和回复判定 pass^1 / pass^k。"""
    from backoffice.app import create_app
    from backoffice.migrate import upgrade
    from evals.scenarios.report import run_cli

    report = asyncio.run(
        run_cli(
            settings=_settings(),
            make_app=create_app,
            migrate=upgrade,
            k=k,
            quick=quick,
            only=only,
            json_path=json_path,
            echo=typer.echo,
        )
    )
    if report["summaries"]["offline"]["overall"]["scenarios"] == 0:
        raise typer.Exit(1)


@eval_app.command("fuzz")
def eval_fuzz(
    examples: Annotated[int, typer.Option(min=1, help="每个接口的 schemathesis 用例数")] = 1000,
    xml_bodies: Annotated[
        int, typer.Option(min=1, help="每个 XML 目标的报文数（公众号明文/安全模式、支付回调）")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="随机种子（可复现）")] = 20261122,
    only: Annotated[str | None, typer.Option(help="只跑其中几项，逗号分隔：openapi,xml,bombs")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="把结果写成 JSON")] = None,
) -> None:
    """坏输入模糊测试：全部接口（schemathesis）、XML 报文与 XML 炸弹；有 5xx 或违规即失败。"""
    from backoffice.app import create_app
    from backoffice.migrate import upgrade
    from evals.reliability.fuzz_report import PARTS, run_cli

    parts = tuple(part.strip() for part in only.split(",")) if only else PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        typer.echo(f"未知的项：{', '.join(sorted(unknown))}（可选 {', '.join(PARTS)}）", err=True)
        raise typer.Exit(2)
    summary = run_cli(
        settings=_settings(),
        make_app=create_app,
        migrate=upgrade,
        examples=examples,
        xml_bodies=xml_bodies,
        seed=seed,
        parts=parts,
        json_path=json_path,
        echo=typer.echo,
    )
    if not summary["ok"]:
        raise typer.Exit(1)


@eval_app.command("injection")
def eval_injection(
    sample: Annotated[int | None, typer.Option(min=1, help="只跑分层抽样的 N 个注入用例（默认全部）")] = None,
    extraction: Annotated[bool, typer.Option(help="同时跑系统提示词窃取用例")] = True,
    json_path: Annotated[Path | None, typer.Option("--json", help="把结果写成 JSON")] = None,
) -> None:
    """提示词注入评测：直接/知识库/工具输出三类注入与提示词窃取，统计泄露、越权改动与越权写操作。"""
    from backoffice.app import create_app
    from backoffice.migrate import upgrade
    from evals.injection.report import run_cli

    summary = asyncio.run(
        run_cli(
            settings=_settings(),
            make_app=create_app,
            migrate=upgrade,
            sample=sample,
            extraction=extraction,
            json_path=json_path,
            echo=typer.echo,
        )
    )
    overall = summary["overall"]
    if any(overall[key] for key in ("leaks", "foreign_rows", "unauthorised_writes", "prompt_leaks")):
        raise typer.Exit(1)


def _register_agent_commands() -> None:
    from backoffice.cli_agent import register
    from backoffice.cli_eval import register as register_eval

    register(app, eval_app, _settings)
    register_eval(eval_app, _settings)


_register_agent_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

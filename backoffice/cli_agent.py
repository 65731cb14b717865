"""The agent's commands: ``warmline chat``, ``warmline train classifier``, ``warmline eval classify``.

Kept apart from ``backoffice/cli.py`` (which registers them) so that file stays small. ``chat`` is
one more client of the public chat API: it runs the real app in-process on the data dir, so a
terminal turn is exactly a web-widget turn.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tools.settings import Settings

DEMO_ACCOUNT, DEMO_PHONE_LAST4 = "2026010001", "0001"


def register(app: typer.Typer, eval_app: typer.Typer, settings: Callable[[], Settings]) -> None:
    train_app = typer.Typer(help="训练：消息分类模型", no_args_is_help=True)
    app.add_typer(train_app, name="train")

    @train_app.command("classifier")
    def train_classifier(
        force: Annotated[bool, typer.Option(help="即使留出集指标变差也启用新模型")] = False,
    ) -> None:
        """用训练集 + 后台标签修正重新训练分类模型；留出集上不变差才启用（保存在数据目录）。"""
        from agent.classify.training import GATES, retrain
        from backoffice.migrate import upgrade

        current = settings()
        upgrade(current)
        report = retrain(current.data_dir, asyncio.run(_corrections(current)), force=force)
        typer.echo(f"训练样本 {report.examples} 条（其中后台修正 {report.corrections} 条）")
        typer.echo(f"{'留出集指标':<20}{'当前模型':>10}{'新模型':>10}")
        for key, value in report.before.items():
            typer.echo(f"{key:<24}{value:>10.3f}{report.after[key]:>10.3f}")
        if report.promoted:
            typer.echo(f"已启用新模型：{report.path}（重启服务后生效）")
        else:
            names = "、".join(gate for gate in GATES if gate in report.worse)
            typer.echo(f"新模型在 {names} 上变差，未替换当前模型")
            raise typer.Exit(1)

    @eval_app.command("classify")
    def eval_classify(
        json_path: Annotated[Path | None, typer.Option("--json", help="把结果写入 JSON 文件")] = None,
        smp_dir: Annotated[Path, typer.Option(help="SMP2020-EWECT 数据目录")] = Path(
            "/work/shared/datasets/smp2020_ewect"
        ),
        smp_limit: Annotated[int, typer.Option(help="SMP2020 抽样条数（0 跳过）")] = 2000,
    ) -> None:
        """分类评测：本模型与关键词基线并列（准确率/宏F1、混淆矩阵、紧急召回、吞吐、SMP2020 情绪）。"""
        from agent.classify import make_classifier
        from agent.classify.classifier import load_examples
        from evals.classify_baseline import KeywordClassifier
        from evals.classify_eval import format_report, run

        model = make_classifier(settings().data_dir)
        model.classify("暖气不热")
        output = run(
            {"model": model, "keyword": KeywordClassifier()},
            load_examples("test.jsonl"),
            smp_dir=smp_dir,
            smp_limit=smp_limit,
        )
        typer.echo(format_report(output))
        if json_path is not None:
            json_path.write_text(json.dumps(output, ensure_ascii=False, indent=2), encoding="utf-8")
            typer.echo(f"结果已写入 {json_path}")

    @app.command()
    def chat(
        account_no: Annotated[str, typer.Option(help="户号（默认演示户）")] = DEMO_ACCOUNT,
        phone_last4: Annotated[str, typer.Option(help="手机号后四位")] = DEMO_PHONE_LAST4,
        anonymous: Annotated[bool, typer.Option(help="不绑定户号，匿名咨询")] = False,
    ) -> None:
        """在终端以演示住户身份和机器人对话（真实对话流程；先运行 warmline demo --no-serve）。"""
        code = asyncio.run(_chat(settings(), None if anonymous else (account_no, phone_last4)))
        if code:
            raise typer.Exit(code)


async def _corrections(settings: Settings) -> list[dict[str, Any]]:
    from tools.db import make_engine, make_sessionmaker
    from tools.labeling.service import correction_examples

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await correction_examples(session)
    finally:
        await engine.dispose()


async def _demo_loaded(settings: Settings) -> bool:
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from tools.company.models import Company
    from tools.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(select(Company.id).limit(1)) is not None
    except SQLAlchemyError:
        return False
    finally:
        await engine.dispose()


async def _chat(settings: Settings, binding: tuple[str, str] | None) -> int:
    import httpx

    from backoffice.app import create_app

    if not await _demo_loaded(settings):
        typer.echo("数据目录里还没有供热公司数据：请先运行 warmline demo --no-serve", err=True)
        return 1
    app = create_app(settings, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://warmline", timeout=60) as client:
            body: dict[str, Any] = {"channel": "app"}
            if binding:
                body |= {"account_no": binding[0], "phone_last4": binding[1]}
            opened = await client.post("/api/v1/chat/sessions", json=body)
            if opened.status_code != 201:
                typer.echo(f"无法开始对话：{opened.json()['error']['message']}", err=True)
                return 1
            session = opened.json()
            headers = {"Authorization": f"Bearer {session['token']}"}
            resident = session.get("resident")
            who = (
                f"{resident.get('name', '')} 户号{resident.get('account_no', '')}" if resident else "匿名访客"
            )
            typer.echo(f"已连接（{who}）。输入问题，回车发送；空行或 Ctrl-D 结束。")
            _print_suggestions(session.get("suggestions", []))
            for line in sys.stdin:
                text = line.strip()
                if not text:
                    break
                typer.echo(f"\n住户：{text}")
                response = await client.post(
                    f"/api/v1/chat/sessions/{session['session_id']}/messages",
                    json={"text": text},
                    headers=headers,
                )
                if response.status_code != 200:
                    error = response.json().get("error", {})
                    typer.echo(f"（{error.get('message')} {error.get('problems', '')}）")
                    continue
                _print_reply(response.json())
    return 0


def _print_reply(reply: dict[str, Any]) -> None:
    labels = reply.get("classification") or {}
    typer.echo(f"机器人：{reply.get('reply') or '（人工客服接待中，机器人不回复）'}")
    typer.echo(
        f"  [标签] 类别 {labels.get('category')} · 情绪 {labels.get('emotion')} · "
        f"紧急 {labels.get('urgency')} · 置信度 {labels.get('confidence')}"
    )
    if reply.get("ticket"):
        typer.echo(f"  [工单] {reply['ticket'].get('ticket_no')} {reply['ticket'].get('status', '')}")
    if reply.get("payment_order"):
        typer.echo(
            f"  [缴费单] {reply['payment_order'].get('order_no')} ¥{reply['payment_order'].get('amount')}"
        )
    if reply.get("handoff"):
        typer.echo("  [转人工] 已转人工客服")
    if reply.get("sources"):
        typer.echo("  [来源] " + "；".join(str(s.get("title")) for s in reply["sources"]))
    _print_suggestions(reply.get("suggestions", []))


def _print_suggestions(suggestions: list[str]) -> None:
    if suggestions:
        typer.echo("  [猜你想问] " + " | ".join(suggestions))

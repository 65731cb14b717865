"""``warmline eval all``: the composition root for the one-folder evaluation report.

Kept apart from ``backoffice/cli.py`` (which registers it). It injects the app factory and the
migration step into ``evals.report`` so the evals package stays below the back office.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from tools.settings import Settings


def register(eval_app: typer.Typer, settings: Callable[[], Settings]) -> None:
    @eval_app.command("all")
    def eval_all(
        quick: Annotated[
            bool, typer.Option(help="快速档（约 5 分钟）：quick 场景 k=1、60 位住户短压测、不跑 ragas")
        ] = False,
        profile: Annotated[
            str | None, typer.Option(help="full | quick | minimal（CI 用）；默认 full，--quick 等于 quick")
        ] = None,
        out: Annotated[Path | None, typer.Option(help="报告文件夹（默认 reports/eval-<时间>）")] = None,
    ) -> None:
        """一次跑完分类、知识库检索、场景和短时压测，每项与基线并列，写出 report.md/json 与 PNG 图。"""
        from backoffice.app import create_app
        from backoffice.migrate import upgrade
        from evals.report.profiles import PROFILES
        from evals.report.run import default_out, run_report

        name = profile or ("quick" if quick else "full")
        if name not in PROFILES:
            typer.echo(f"未知的评测档位 {name!r}，可选：{'、'.join(PROFILES)}", err=True)
            raise typer.Exit(2)
        current = settings()
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # one start/stop line pair per run
        target = out or default_out()
        report = asyncio.run(
            run_report(
                settings=current,
                make_app=create_app,
                migrate=upgrade,
                profile=PROFILES[name],
                out=target,
                echo=typer.echo,
            )
        )
        typer.echo(f"报告已写入 {target / 'report.md'}（{report['meta']['seconds']:.0f} 秒）")
        if report["errors"]:
            typer.echo(
                "以下部分失败：" + "；".join(f"{k}: {v}" for k, v in report["errors"].items()), err=True
            )
            raise typer.Exit(1)

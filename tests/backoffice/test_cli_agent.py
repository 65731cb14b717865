"""``warmline chat`` and ``warmline train classifier`` as a user runs them, on a seeded data dir."""

import asyncio

from typer.testing import CliRunner

from backoffice.cli import app
from tools.db import make_engine, make_sessionmaker, transaction
from tools.demo.seed import seed_demo


def _env(settings) -> dict[str, str]:
    return {
        "WARMLINE_DATA_DIR": str(settings.data_dir),
        "WARMLINE_DATABASE_URL": settings.database_url,
        "WARMLINE_LOG_JSON": "false",
    }


def _seed(settings, clock) -> None:
    async def run() -> None:
        engine = make_engine(settings)
        async with transaction(make_sessionmaker(engine)) as session:
            await seed_demo(session, clock=clock)
        await engine.dispose()

    asyncio.run(run())


def test_chat_without_demo_data_says_to_load_the_demo_first(settings) -> None:
    result = CliRunner().invoke(app, ["chat"], input="你好\n", env=_env(settings))
    assert result.exit_code == 1 and "warmline demo --no-serve" in result.output


def test_chat_as_the_demo_resident_prints_reply_labels_and_suggestions(settings, clock) -> None:
    _seed(settings, clock)
    result = CliRunner().invoke(app, ["chat"], input="我欠多少钱\n我要交暖气费\n", env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "户号2026010001" in result.output and "2327.00" in result.output
    assert "类别 billing" in result.output and "[猜你想问]" in result.output
    assert "[缴费单]" in result.output

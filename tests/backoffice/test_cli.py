"""The CLI as an admin uses it: real commands, a real data directory, the test database."""

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from backoffice.cli import app

runner = CliRunner()


@pytest.fixture
def env(settings, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("WARMLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("WARMLINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WARMLINE_LOG_JSON", "false")
    return {}


def _accounts(settings) -> int:
    engine = sa.create_engine(settings.sync_database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM accounts")).scalar_one()
    finally:
        engine.dispose()


def test_a_broken_row_fails_the_import_names_the_line_and_changes_nothing(env, settings, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "account_no,name,phone,community,district,building,unit,room,heated_area,kind\n"
        "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民\n"
        "2026070002,冯德明,12345,松竹园,城东区,1号楼,2,502,102.15,居民\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "residents", str(bad)])
    assert result.exit_code == 1
    assert "第 3 行" in result.output and "手机号" in result.output
    assert _accounts(settings) == 0


def test_a_good_file_imports(env, settings, tmp_path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "account_no,name,phone,community,district,building,unit,room,heated_area,kind\n"
        "2026070001,郑淑华,13800001111,松竹园,城东区,1号楼,1,301,86.40,居民\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "residents", str(good)])
    assert result.exit_code == 0, result.output
    assert "新增 1 条" in result.output and _accounts(settings) == 1


def test_demo_without_serving_loads_the_company_idempotently(env, settings) -> None:
    first = runner.invoke(app, ["demo", "--no-serve"])
    second = runner.invoke(app, ["demo", "--no-serve"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    counts = json.loads(second.output[second.output.index("{") : second.output.rindex("}") + 1])
    assert counts["accounts"] == 200 and _accounts(settings) == 200

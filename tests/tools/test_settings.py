from pathlib import Path

import pytest

from tools.settings import Settings, to_async_url, to_sync_url


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.data_dir == Path("var")
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'warmline.db'}"
    assert settings.llm_base_url is None and settings.redis_url is None and settings.chroma_url is None


def test_environment_and_dotenv_use_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("WARMLINE_LLM_MODEL=deepseek-chat\nWARMLINE_DATA_DIR=/srv/wl\n")
    monkeypatch.setenv("WARMLINE_DATABASE_URL", "postgresql://u@db:5432/warmline")
    settings = Settings()
    assert settings.llm_model == "deepseek-chat"
    assert settings.data_dir == Path("/srv/wl")
    assert settings.effective_database_url == "postgresql+psycopg://u@db:5432/warmline"
    assert settings.sync_database_url == "postgresql+psycopg://u@db:5432/warmline"


def test_url_drivers_are_normalised() -> None:
    assert to_async_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert to_sync_url("sqlite+aiosqlite:////x/y.db") == "sqlite:////x/y.db"
    with pytest.raises(ValueError, match="unsupported"):
        to_async_url("mysql://u@h/d")

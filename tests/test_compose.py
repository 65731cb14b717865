"""The distributed profile must read the same settings and commands as the embedded mode."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from backoffice.cli import app as cli_app
from tools.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_the_distributed_services() -> None:
    services = _compose()["services"]
    assert {"api", "worker", "postgres", "redis", "chroma", "migrate", "lb"} <= set(services)
    assert services["api"]["deploy"]["replicas"] == 2


def test_every_warmline_variable_is_a_setting() -> None:
    fields = {f"WARMLINE_{name.upper()}" for name in Settings.model_fields}
    for name, service in _compose()["services"].items():
        env = service.get("environment") or {}
        unknown = {key for key in env if key.startswith("WARMLINE_")} - fields
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"


def test_compose_settings_parse_into_the_distributed_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _compose()["services"]["api"]["environment"]
    for key, value in env.items():
        if key.startswith("WARMLINE_") and "${" not in str(value):
            monkeypatch.setenv(key, str(value))
    settings = Settings(_env_file=None)
    assert settings.effective_database_url.startswith("postgresql+psycopg://")
    assert settings.redis_url and settings.chroma_url


def test_service_commands_are_real_cli_commands() -> None:
    commands = {command.name or command.callback.__name__ for command in cli_app.registered_commands}
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command and command[0] == "warmline":
            assert command[1] in commands, f"{name} runs unknown command {command[1]}"


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose client not installed")
def test_docker_compose_validates_the_file() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

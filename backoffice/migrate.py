"""Alembic, driven from code: ``warmline migrate`` and the app/test setup call these.

The migration environment lives in ``backoffice/migrations`` because only the top layer may
import every package's models (tools and kb).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from tools.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", settings.sync_database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    settings.ensure_dirs()
    command.upgrade(make_alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(make_alembic_config(settings), revision)

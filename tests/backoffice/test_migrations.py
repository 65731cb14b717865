import sqlalchemy as sa

from backoffice.migrate import downgrade, upgrade
from tools.db import Base
from tools.settings import Settings

import kb.models  # noqa: F401  isort: skip
import tools.models  # noqa: F401  isort: skip


def _tables(settings: Settings) -> set[str]:
    engine = sa.create_engine(settings.sync_database_url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_fresh_database_is_at_head_with_every_model_table(settings: Settings) -> None:
    assert _tables(settings) == set(Base.metadata.tables)


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(settings: Settings) -> None:
    downgrade(settings, "base")
    assert _tables(settings) == set()
    upgrade(settings)
    assert _tables(settings) == set(Base.metadata.tables)


def test_models_and_migrations_agree(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(settings.sync_database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []

"""LangGraph checkpointers: SQLite file beside the embedded database, or PostgreSQL.

The embedded checkpointer gets its own file so checkpoint writes never contend with the
business database's write lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tools.settings import Settings


@contextlib.asynccontextmanager
async def make_checkpointer(settings: Settings) -> AsyncIterator[Any]:
    url = settings.sync_database_url
    if url.startswith("postgresql"):
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
        async with AsyncConnectionPool(
            conninfo,
            max_size=10,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    settings.ensure_dirs()
    async with AsyncSqliteSaver.from_conn_string(str(settings.data_dir / "checkpoints.db")) as saver:
        await saver.setup()
        yield saver

"""Test harness: every test gets a fresh, migrated database of the backend under test.

``WARMLINE_TEST_BACKEND=postgres`` runs the suite on the PostgreSQL server at 127.0.0.1:5432
(``WARMLINE_TEST_PG_URL`` overrides where): one throwaway template database is migrated per run,
and each test gets ``CREATE DATABASE ... TEMPLATE`` of it. The default backend copies a migrated
SQLite file. Both are dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent.classify import MessageClassifier, make_classifier
from backoffice.app import create_app
from backoffice.demo import KB_DOCS
from backoffice.migrate import upgrade
from kb.chunking import chunk_document
from kb.embeddings import make_embedder
from kb.retriever import KnowledgeBase, make_chroma_client
from kb.sources import discover, read_source
from tools.clock import FixedClock
from tools.db import make_engine, make_sessionmaker
from tools.demo.seed import seed_demo
from tools.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

BACKEND = os.environ.get("WARMLINE_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("WARMLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_report_header() -> str:
    return f"warmline database backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("WARMLINE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow test: set WARMLINE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
    if BACKEND != "postgres":
        skip_pg = pytest.mark.skip(reason="needs WARMLINE_TEST_BACKEND=postgres")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)


def _pg_url(database: str) -> str:
    head, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{head}/{database}"


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


class DatabaseFactory:
    """Hands out fresh migrated databases by copying one migrated template."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.created: list[str] = []
        if BACKEND == "postgres":
            self.template = f"wl_tmpl_{uuid.uuid4().hex[:10]}"
            _pg_admin(f'CREATE DATABASE "{self.template}"')
            self.created.append(self.template)
            upgrade(Settings(data_dir=root / "tmpl", database_url=_pg_url(self.template)))
        else:
            self.template_file = root / "template.db"
            upgrade(Settings(data_dir=root / "tmpl", database_url=f"sqlite:///{self.template_file}"))

    def new_url(self) -> str:
        name = f"wl_{uuid.uuid4().hex[:12]}"
        if BACKEND == "postgres":
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            self.created.append(name)
            return _pg_url(name)
        target = self.root / f"{name}.db"
        shutil.copyfile(self.template_file, target)
        return f"sqlite:///{target}"

    def drop_all(self) -> None:
        for name in reversed(self.created):
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    if BACKEND == "postgres":
        factory.drop_all()


@pytest.fixture
def settings(tmp_path: Path, database_factory: DatabaseFactory) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database_factory.new_url(),
        log_json=False,
    )


@pytest.fixture
def clock() -> FixedClock:
    # 2026-11-22 10:00 in Asia/Shanghai: a week into the 2026-2027 heating season.
    return FixedClock(datetime(2026, 11, 22, 2, 0, tzinfo=UTC))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session
        await session.rollback()


# --- the demo company served by the real app (chat, console and end-to-end tests) ---


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The demo knowledge base embedded once per test session (embedding is the slow part)."""
    kb = KnowledgeBase(
        client=make_chroma_client(path=str(tmp_path_factory.mktemp("chroma"))), embedder=make_embedder(None)
    )
    for path in discover([Path(KB_DOCS)]):
        for source in read_source(path):
            kb.index(
                document_id=source.slug,
                version=1,
                title=source.title,
                kind=source.kind,
                audience=source.audience,
                valid_from=source.valid_from,
                valid_to=source.valid_to,
                scope_community=source.scope_community,
                scope_building=source.scope_building,
                chunks=chunk_document(source),
            )
    return kb


@pytest.fixture(scope="session")
def shared_classifier() -> MessageClassifier:
    return make_classifier()


@pytest.fixture
async def demo_app(settings, clock, sessions, demo_kb, shared_classifier) -> AsyncIterator[FastAPI]:
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
    app = create_app(settings, clock=clock, kb=demo_kb, classifier=shared_classifier, run_jobs=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(demo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=demo_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from agent.classify import MessageClassifier, make_classifier
from backoffice.app import create_app
from backoffice.demo import KB_DOCS
from kb.chunking import chunk_document
from kb.embeddings import make_embedder
from kb.retriever import KnowledgeBase, make_chroma_client
from kb.sources import discover, read_source
from tools.demo.seed import seed_demo


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

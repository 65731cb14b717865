"""Shared set-up for the injection tests: the demo company plus the canary world, served by the
real app with the hostile model. The default tests use the demo KB indexed with the hashing test
embedder (the real hybrid retriever, milliseconds to build); the slow run uses the real e5 KB."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from backoffice.app import create_app
from backoffice.demo import KB_DOCS
from evals.injection.hostile import HostileModel
from evals.injection.runner import InjectionEnv
from evals.injection.world import WorldFacts, seed_world
from kb.chunking import chunk_document
from kb.retriever import KnowledgeBase
from kb.sources import discover, read_source
from tests.kb.fakes import make_fake_kb
from tools.demo.seed import seed_demo

CANARY = "wl-canary-5c1e9d7b"


def make_hashing_demo_kb(path: Path) -> KnowledgeBase:
    kb = make_fake_kb(path)
    for doc in discover([Path(KB_DOCS)]):
        for source in read_source(doc):
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


async def seed_company(sessions, *, clock, settings) -> WorldFacts:
    async with sessions() as session, session.begin():
        await seed_demo(session, clock=clock)
        return await seed_world(session, clock=clock, settings=settings)


@contextlib.asynccontextmanager
async def served_env(settings, clock, sessions, kb, classifier) -> AsyncIterator[InjectionEnv]:
    settings = settings.model_copy(update={"prompt_canary": CANARY})
    facts = await seed_company(sessions, clock=clock, settings=settings)
    hostile = HostileModel()
    app = create_app(settings, clock=clock, kb=kb, classifier=classifier, model=hostile, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield InjectionEnv(client, sessions, kb, clock, hostile, facts, CANARY)

"""The load part of the report: a short season-start surge through ``evals.load.run``.

The surge runs against a server in a child process (``warmline serve`` on a free 127.0.0.1 port),
so the figures are what an HTTP client sees, WeChat and web side by side. The company it serves is
seeded here (the scenario world's demo company and knowledge base) with the run's cached
embeddings, rather than by ``warmline demo`` in the child, which would encode every document
again. The report keeps every request's latency for the per-channel histograms.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from evals.load.run import main_async, parse_args
from evals.report.profiles import Profile
from evals.scenarios.world import AppFactory, Migrate, World
from kb.embeddings import Embedder
from kb.retriever import KnowledgeBase, make_chroma_client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seeded_company(
    target: Path, *, make_app: AppFactory, migrate: Migrate, embedder: Embedder, classifier: Any
) -> Path:
    """A data directory ``warmline serve`` can open: ``warmline.db`` and ``chroma/``."""
    target.mkdir(parents=True)
    client = make_chroma_client(path=str(target / "chroma"))
    try:
        kb = KnowledgeBase(client=client, embedder=embedder)
        world = World(target, make_app=make_app, migrate=migrate, kb=kb, classifier=classifier)
        await world.build_template()
    finally:
        client.close()  # the server child opens these files next; nothing may hold them here
    world.template.rename(target / "warmline.db")
    return target


async def load(
    profile: Profile,
    *,
    workdir: Path,
    make_app: AppFactory,
    migrate: Migrate,
    embedder: Embedder,
    classifier: Any,
    max_seconds: float = 240.0,
) -> dict[str, Any]:
    seeded = await seeded_company(
        workdir / "seeded", make_app=make_app, migrate=migrate, embedder=embedder, classifier=classifier
    )
    args = parse_args(
        [
            *("--residents", str(profile.load_residents), "--messages", str(profile.load_messages)),
            *("--ramp", str(profile.load_ramp_s), "--max-seconds", str(max_seconds)),
            *("--port", str(_free_port()), "--seeded-dir", str(seeded), "--samples"),
        ]
    )
    return await main_async(args)

"""Per-turn latency of the offline backend through the real runtime, on a 10k-chunk knowledge base.

    python -m evals.bench_turns [--chunks 10000] [--turns 120]

How the 10k-chunk KB is built cheaply: the demo documents are chunked and embedded for real
(e5); the remaining chunks are synthetic — each is a real chunk's vector plus Gaussian noise
(σ=0.05 per dimension, re-normalised) with a text recombined from real sentences — so dense
search, BM25 and the scope masks all work over 10k entries at the cost of one real embedding
pass. Then the demo company is seeded in a temporary SQLite database, the agent runtime is built on
that KB (offline backend), and scripted residents (KB questions, bills, payment, no-heat reports,
progress) talk to it through ``AgentRuntime.respond``, the entry point every channel calls.
Latency is wall time per turn; the classifier's throughput is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SCRIPT = [
    ["什么时候开始供暖", "暖气怎么放气", "室温多少度算合格"],
    ["我欠多少钱", "我要交暖气费"],
    ["暖气不热", "试过了还是不热，全屋都不热，屋里才14度", "师傅什么时候来"],
    ["报停需要什么材料", "营业厅在哪里", "转人工"],
    ["发票怎么开", "今年暖气费多少钱一平", "谢谢"],
]


class _BenchEmbedder:
    """Real e5 queries; passages are real until ``synthetic`` is set, then perturbed real vectors."""

    def __init__(self, real: Any, seed: int = 0) -> None:
        self.real = real
        self.synthetic: np.ndarray | None = None
        self.rng = np.random.default_rng(seed)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.real.queries(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        if self.synthetic is None:
            vectors = self.real.passages(texts)
            self.bank = vectors if not hasattr(self, "bank") else np.vstack([self.bank, vectors])
            return vectors
        base = self.bank[self.rng.integers(0, len(self.bank), size=len(texts))]
        noisy = base + self.rng.normal(0, 0.05, size=base.shape).astype(base.dtype)
        return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def build_kb(chunks: int, path: str) -> tuple[Any, int]:
    import tools.demo
    from kb.chunking import Chunk, chunk_document
    from kb.embeddings import make_embedder
    from kb.retriever import KnowledgeBase, make_chroma_client
    from kb.sources import discover, read_source

    embedder = _BenchEmbedder(make_embedder(None))
    kb = KnowledgeBase(client=make_chroma_client(path=path), embedder=embedder)
    sentences: list[str] = []
    for doc in discover([Path(tools.demo.__file__).parent / "kb_docs"]):
        for source in read_source(doc):
            pieces = chunk_document(source)
            sentences += [s for c in pieces for s in c.text.replace("\n", "。").split("。") if len(s) > 6]
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
                chunks=pieces,
            )
    real = kb.count()
    embedder.synthetic = np.empty(0)
    rng = random.Random(0)
    per_doc, doc_no = 200, 0
    while kb.count() < chunks:
        n = min(per_doc, chunks - kb.count())
        pieces = [
            Chunk(
                index=i,
                text="。".join(rng.sample(sentences, 3)) + f"（编号{doc_no}-{i}）",
                section="",
                body="",
            )
            for i in range(n)
        ]
        kb.index(
            document_id=f"synthetic-{doc_no}",
            version=1,
            title=f"合成文档{doc_no}",
            kind="doc",
            audience="resident",
            valid_from=None,
            valid_to=None,
            scope_community=f"合成小区{doc_no % 7}" if doc_no % 2 else None,
            scope_building=None,
            chunks=pieces,
        )
        doc_no += 1
    return kb, real


async def run_turns(kb: Any, turns: int, data_dir: Path) -> tuple[list[float], Any]:
    """Scripted residents through ``AgentRuntime.respond`` — the one entry point every channel calls."""
    import tools.models  # noqa: F401 — registers every table on Base.metadata
    from agent.factory import make_agent_runtime
    from agent.inbound import InboundMessage
    from tools.clock import SystemClock
    from tools.context import ToolDeps
    from tools.conversations.service import open_conversation
    from tools.crm.binding import attempt_binding, get_or_create_identity
    from tools.db import Base, make_engine, make_sessionmaker, transaction
    from tools.demo.seed import seed_demo
    from tools.events import make_event_bus
    from tools.settings import Settings

    settings = Settings(_env_file=None, data_dir=data_dir, log_json=False, log_level="WARNING")  # type: ignore[call-arg]
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions, clock = make_sessionmaker(engine), SystemClock()
    async with transaction(sessions) as session:
        await seed_demo(session, clock=clock)
    deps = ToolDeps(settings=settings, clock=clock, sessions=sessions)
    latencies: list[float] = []
    events = make_event_bus(None)
    async with make_agent_runtime(deps, kb=kb, events=events, company_name="暖线演示供热公司") as agent:
        agent.warm_up()
        script = 0
        while len(latencies) < turns:
            async with transaction(sessions) as session:
                identity = await get_or_create_identity(session, channel="web", external_id=f"bench-{script}")
                bound = await attempt_binding(
                    session, identity=identity, account_no="2026010001", phone_last4="0001", clock=clock
                )
                conversation = await open_conversation(
                    session, channel="web", clock=clock, identity_id=identity.id, account_id=bound.account.id
                )
            for text in SCRIPT[script % len(SCRIPT)]:
                start = time.perf_counter()
                await agent.respond(InboundMessage(conversation_id=conversation.id, text=text))
                latencies.append((time.perf_counter() - start) * 1000)
            script += 1
        classifier = agent.classifier
    await engine.dispose()
    return latencies, classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=120)
    args = parser.parse_args()
    from agent.classify.classifier import load_examples
    from evals.classify_eval import throughput

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        kb, real = build_kb(args.chunks, str(Path(tmp) / "chroma"))
        print(
            f"KB: {kb.count()} chunks ({real} real demo chunks, rest synthetic), "
            f"built in {time.perf_counter() - start:.0f}s"
        )
        latencies, classifier = asyncio.run(run_turns(kb, args.turns, Path(tmp) / "data"))
    warm = latencies[len(SCRIPT[0]) :]  # the first session pays one-off lazy loads
    q = statistics.quantiles(warm, n=100)
    print(f"turns: {len(warm)} measured (after {len(SCRIPT[0])} warm-up)")
    print(
        f"per-turn latency ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  "
        f"max {max(warm):.1f}  mean {statistics.mean(warm):.1f}"
    )
    speed = throughput(classifier, [e["text"] for e in load_examples("test.jsonl")])
    print(f"classifier: {speed['cpu']} msgs/CPU-s, {speed['wall']} msgs/wall-s (one thread)")


if __name__ == "__main__":
    main()

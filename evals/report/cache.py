"""One embedder for the whole report run, remembering every text it encoded.

The KB eval and the scenario world both ingest the demo documents into fresh stores; encoding the
same chunks twice would be most of the quick profile's embedding time, for identical vectors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kb.embeddings import Embedder


class CachingEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._queries: dict[str, np.ndarray] = {}
        self._passages: dict[str, np.ndarray] = {}

    def _cached(
        self, cache: dict[str, np.ndarray], texts: list[str], encode: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in cache))
        if missing:
            cache.update(zip(missing, encode(missing), strict=True))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([cache[text] for text in texts])

    def remember(self, passages: list[tuple[str, np.ndarray]]) -> CachingEmbedder:
        """Take passage vectors computed elsewhere (``KnowledgeBase.chunk_vectors``) by the same model."""
        self._passages.update(passages)
        return self

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._cached(self._queries, texts, self.inner.queries)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._cached(self._passages, texts, self.inner.passages)

"""Vectors of single words from the embedding model, for soft term matching; cached, bounded, thread-safe.

A word embedded alone by all-MiniLM-L6-v2 lands near its synonyms ("reporters"/"journalists" 0.87,
"truce"/"ceasefire" 0.58) and away from unrelated words ("journalists"/"soldiers" 0.34), which the
model's static input embeddings do much less well (0.67 / 0.49 / 0.18 for the same pairs, measured
here). A new word costs about 1 ms to embed; each is embedded once per process. It decides nothing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

CAPACITY = 200_000  # words kept (384 float32 each: about 300 MB at most; a news vocabulary is far smaller)


class WordVectors:
    """``vectors(words)`` gives one normalised row per word; ``embed`` is called only for new words. Past
    ``capacity`` words, the first embedded are dropped first (embedded again if asked for again): a
    news vocabulary stays far below it, and keeping use order cost more per question than it saves."""

    def __init__(self, embed: Callable[[list[str]], list[list[float]]], capacity: int = CAPACITY):
        self._embed = embed
        self._capacity = capacity
        self._cache: dict[str, np.ndarray] = {}  # in the order embedded
        self._lock = threading.Lock()

    def vectors(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """Each distinct word of ``words`` with its vector."""
        with self._lock:
            # in one order whatever order they come in: a batch embeds the same words alike in every run
            missing = sorted({w for w in words if w not in self._cache})
        fresh = {}
        if missing:
            rows = np.asarray(self._embed(missing), dtype=np.float32)
            rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)
            fresh = dict(zip(missing, rows))
        with self._lock:
            self._cache.update(fresh)
            cache = self._cache
            out = {w: cache[w] for w in words}
            while len(cache) > self._capacity:
                del cache[next(iter(cache))]
            return out

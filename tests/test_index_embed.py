"""Indexing's torch encoder: bfloat16 matrix products where the CPU has them, the same vectors as float32."""
import numpy as np
import pytest

from index.embed import embed_with_spans, load_embedder, native_bf16

from conftest import seed_chunks


def test_float32_can_be_asked_for(monkeypatch):
    monkeypatch.setenv("QA_EMBED_FLOAT32", "1")
    assert native_bf16() is False


def test_bfloat16_gives_the_float32_chunk_and_sentence_vectors(monkeypatch):
    """What the index stores when the CPU multiplies bfloat16 (AMX, AVX512-BF16) against float32: the
    eval's stores built either way give the same hit@5 and answer correct (docs/benchmarks.md)."""
    monkeypatch.delenv("QA_EMBED_FLOAT32", raising=False)
    if not native_bf16():
        pytest.skip("this CPU has no bfloat16 matrix instructions: indexing runs in float32 only")
    texts, spans = seed_chunks()
    embedder = load_embedder()
    fast_vectors, fast_rows = embed_with_spans(embedder, texts, spans)
    monkeypatch.setenv("QA_EMBED_FLOAT32", "1")
    vectors, rows = embed_with_spans(embedder, texts, spans)
    assert len(texts) > 30
    assert (np.array(fast_vectors) * np.array(vectors)).sum(axis=1).min() >= 0.9999
    fast, slow = np.concatenate(fast_rows).astype(np.float32), np.concatenate(rows).astype(np.float32)
    real = ~np.isnan(slow).any(axis=1)
    assert real.sum() > 100 and (np.isnan(fast).any(axis=1) == ~real).all()
    assert (fast[real] * slow[real]).sum(axis=1).min() >= 0.9995  # float16 rows: 1e-4 is their own rounding

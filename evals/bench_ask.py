"""Benchmark warm ``ask()`` latency as a ratio to a bare llama-index vector retrieve, same run.

Usage: python -m evals.bench_ask [--store .qa] [--rounds 5] [--out docs/benchmarks.md]

Both run over the eval questions in the same process against the same Chroma store and model, the
two interleaved question by question so machine noise hits both alike. The bare retrieve is
``VectorStoreIndex.from_vector_store(...).as_retriever(similarity_top_k=5).retrieve(...)`` of the
question embedded by the same ONNX query encoder ``ask()`` uses. A script, not a test.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import index  # noqa: F401
from evals.metrics import percentile
from evals.run import load_set
from qa.answer import Engine
from qa.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env(store=args.store)
    engine = Engine(settings)
    items = load_set()
    engine.ask("warm-up question about Gaza")
    from llama_index.core import VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding
    from llama_index.core.schema import QueryBundle

    encoder = engine.retriever.embed_model()
    index = VectorStoreIndex.from_vector_store(engine.store.vector_store(), embed_model=MockEmbedding(embed_dim=384))
    retriever = index.as_retriever(similarity_top_k=5)

    def bare(question):  # embedded by the encoder ask() uses, then llama-index's retrieve
        return retriever.retrieve(QueryBundle(question, embedding=encoder.get_query_embedding(question)))

    bare("warm-up")
    ask_ms, bare_ms = [], []
    for _ in range(args.rounds):
        for item in items:
            started = time.perf_counter()
            engine.ask(item["question"], item.get("history"))
            ask_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bare(item["question"])
            bare_ms.append((time.perf_counter() - started) * 1000)
    a50, a95, b50, b95 = (percentile(ask_ms, 50), percentile(ask_ms, 95), percentile(bare_ms, 50), percentile(bare_ms, 95))
    stats = engine.store.stats()
    report = "\n".join([
        "| corpus | calls | ask p50 ms | ask p95 ms | bare retrieve p50 ms | bare p95 ms | ratio p50 | ratio p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| {stats.articles} articles, {stats.chunks} chunks | {len(ask_ms)} | {a50:.1f} | {a95:.1f} | {b50:.1f} | "
        f"{b95:.1f} | {a50 / b50:.2f}x | {a95 / b95:.2f}x |",
    ])
    print(report)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n`python -m evals.bench_ask --rounds {args.rounds}`\n\n{report}\n")


if __name__ == "__main__":
    main()

"""Benchmark how asking scales with the corpus: warm ``ask()`` latency, serve readiness and memory.

Usage: python -m evals.bench_scale --articles 5 1000 10000 50000 [--server] [--out docs/benchmarks.md]

Each size runs in a fresh process. 5 is the seeds, indexed with the real model. Larger corpora are
generated (``evals.bench_index.generate``) and filled through ``index.build`` itself, with vectors
computed once from the seeds and reused (query-side cost does not depend on what vectors mean; the
encoder's own speed is measured by ``evals.bench_index``). Per size: indexing time, warm ``ask()``
p50/p95 over the eval questions, ``qa serve`` time to its first answer, and peak memory of indexing
and of serving. With ``--server`` each size gets a fresh Chroma server (``chroma run`` on a free
loopback port) and everything goes through it; its peak memory is reported too, and ``qa serve`` is
timed a second time with an empty ``--store`` folder, as on a machine that has never downloaded the
keyword snapshot. A script, not a test.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def reusing_encoder():
    """An ``encode`` for ``index.build`` that hands out vectors embedded once from the seed chunks."""
    import numpy as np

    from index.chunk import chunk_article
    from index.embed import embed_with_spans, load_embedder
    from index.read import read_corpus
    from index.types import Skipped

    texts, spans = [], []
    for article in read_corpus(ROOT / "seeds"):
        if isinstance(article, Skipped):
            continue
        for chunk in chunk_article(article.source, article.text, article.body):
            texts.append(chunk.text)
            spans.append([(s.start - chunk.start, s.end - chunk.start) for s in chunk.sentences])
    vectors, sentence_rows = embed_with_spans(load_embedder(), texts, spans)
    rows = np.concatenate(sentence_rows)

    def encode(batch, batch_spans):
        out_vectors, out_rows = [], []
        for text, text_spans in zip(batch, batch_spans):
            h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            out_vectors.append(vectors[h % len(vectors)])
            out_rows.append(rows[[(h + i) % len(rows) for i in range(len(text_spans))]])
        return out_vectors, out_rows

    return encode


def serve_ready(store: Path, where: dict) -> tuple[float, float, float]:
    """Seconds from starting ``qa serve`` to the page answering, to its first answer; its peak RSS MB."""
    from gradio_client import Client

    from evals.bench_index import peak_rss_mb
    from evals.bench_load import served

    env = {"QA_CHROMA_URL": where["chroma_url"], "QA_NAMESPACE": where["namespace"]} if where else {}
    started = time.perf_counter()
    with served(ROOT / "seeds", store, extra_env=env) as (url, proc):
        page = time.perf_counter() - started
        Client(url, verbose=False).predict("Who is John Kirby?", None, api_name="/ask")
        first = time.perf_counter() - started
        return page, first, peak_rss_mb(proc.pid)


def one(articles: int, server: bool) -> dict:
    import index  # noqa: F401
    from evals.bench_index import generate, peak_rss_mb
    from evals.bench_load import chroma_running
    from evals.metrics import percentile
    from evals.run import load_set
    from index import build
    from qa.answer import Engine
    from qa.settings import Settings

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        store, where, chroma = Path(tmp) / "store", {}, None
        if server:
            url, chroma = stack.enter_context(chroma_running(Path(tmp) / "chroma"))
            where = {"chroma_url": url, "namespace": "bench"}
        if articles <= 5:
            corpus, encode = ROOT / "seeds", None
        else:
            corpus, encode = Path(tmp) / "corpus", reusing_encoder()
            generate(ROOT / "seeds", corpus, articles)
        started = time.perf_counter()
        summary = build(corpus, store, progress=False, encode=encode, **where)
        index_s = time.perf_counter() - started
        index_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        engine = Engine(Settings.from_env(store=store, **where))
        engine.ask("warm-up question about Gaza")
        items = load_set()
        times = []
        for _ in range(3):
            for item in items:
                t = time.perf_counter()
                engine.ask(item["question"], item.get("history"))
                times.append((time.perf_counter() - t) * 1000)
        page, first, serve_peak = serve_ready(store, where)
        # a second machine: an empty folder, so the keyword snapshot is downloaded from the server first
        fresh = serve_ready(Path(tmp) / "new-machine", where)[:2] if server else None
        chroma_peak = round(peak_rss_mb(chroma.pid)) if chroma else None
    return {"chroma_peak_mb": chroma_peak, "serve_new_machine_s": [round(x, 1) for x in fresh] if fresh else None,
            "articles": summary.articles, "chunks": summary.chunks, "index_s": round(index_s, 1),
            "ask_p50_ms": round(percentile(times, 50), 1), "ask_p95_ms": round(percentile(times, 95), 1),
            "serve_page_s": round(page, 1), "serve_first_answer_s": round(first, 1),
            "index_peak_mb": round(index_peak), "serve_peak_mb": round(serve_peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[5, 1000, 10000, 50000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--server", action="store_true", help="Everything through a Chroma server started here.")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.server)))
        return
    rows = []
    for n in args.articles:
        out = subprocess.run([sys.executable, "-m", "evals.bench_scale", "--one", str(n)] + ["--server"] * args.server,
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    base = rows[0]["ask_p50_ms"]
    table = ["| articles | chunks | index s | ask p50 ms | ask p95 ms | p50 vs smallest | serve: page s | "
             "serve: first answer s | serve on a new machine: page / first answer s | index peak MB | "
             "serve peak MB | Chroma server peak MB |", "|" + "---:|" * 12]
    table += [f"| {r['articles']} | {r['chunks']} | {r['index_s']} | {r['ask_p50_ms']} | {r['ask_p95_ms']} | "
              f"{r['ask_p50_ms'] / base:.2f}x | {r['serve_page_s']} | {r['serve_first_answer_s']} | "
              f"{' / '.join(map(str, r['serve_new_machine_s'])) if r.get('serve_new_machine_s') else '-'} | "
              f"{r['index_peak_mb']} | {r['serve_peak_mb']} | {r['chroma_peak_mb'] or '-'} |" for r in rows]
    print("\n".join(table))
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            flag = " --server" if args.server else ""
            f.write(f"\n`python -m evals.bench_scale --articles {' '.join(map(str, args.articles))}{flag}`\n\n"
                    + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark indexing throughput as a ratio to raw ``SentenceTransformer.encode`` of the same chunks.

Usage: python -m evals.bench_index --articles 2000 [--server] [--onnx | --float32] [--out docs/benchmarks.md]

It generates a corpus by recombining the seed articles' sentences with varied names and numbers
(throughput does not depend on meaning), indexes it into a fresh store with ``index.build``, then
encodes exactly the chunk texts the index embedded with a bare ``SentenceTransformer`` in the same
process, and reports articles/s, chunks/s, the ratio and peak memory. With ``--server`` the index goes
to a real Chroma server (``chroma run``, started here on a free loopback port) and the server's peak
memory is reported too; with ``--onnx`` the same corpus is indexed a second time with the store's ONNX
export as the encoder throughout (what a small update uses), with ``--float32`` with torch in float32
even where the CPU has bfloat16 (``QA_EMBED_FLOAT32=1``, how every run indexed before), and then a
third time as by default, so that the comparison does not hang on which went first. A script, not a
test.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest.mock import patch

import index  # noqa: F401
from evals.bench_load import chroma_running
from index import build
from index.chunk import split_sentences
from index.embed import default_model_path, matmul_precision
from index.read import read_corpus
from index.store import node_for, open_store

NAMES = ["Blinken", "Austin", "Sullivan", "Burns", "Harris", "Macron", "Scholz", "Sunak", "Guterres", "Borrell"]


def generate(seeds: Path, out: Path, articles: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    sentences = [a.text[s.start:s.end] for a in read_corpus(seeds) if hasattr(a, "body")
                 for s in split_sentences(a.text, a.body)]
    out.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        picked = rng.sample(sentences, rng.randint(12, 22))
        text = " ".join(s.replace("Blinken", rng.choice(NAMES)) for s in picked)
        text = text.replace("23,000", f"{rng.randint(1, 90)},{rng.randint(100, 999)}")
        lines = [f"Report {i}: {rng.choice(NAMES)} visits the region"] + [text[j:j + 600] for j in range(0, len(text), 600)]
        (out / f"gen_{i:06d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--server", action="store_true", help="Index into a Chroma server started here.")
    parser.add_argument("--out", type=Path)
    encoders = parser.add_mutually_exclusive_group()
    encoders.add_argument("--onnx", action="store_true",
                       help="Also index the same corpus with the ONNX encoder throughout, then as by default again.")
    encoders.add_argument("--float32", action="store_true",
                       help="Also index the same corpus with torch in float32, then as by default again.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        corpus, store = Path(tmp) / "corpus", Path(tmp) / "store"
        where, server = {}, None
        if args.server:
            url, server = stack.enter_context(chroma_running(Path(tmp) / "chroma"))
            where = {"chroma_url": url, "namespace": "bench"}
        generate(Path(__file__).resolve().parent.parent / "seeds", corpus, args.articles)
        started = time.perf_counter()
        summary = build(corpus, store, progress=False, **where)
        index_s = time.perf_counter() - started
        other_s = again_s = None
        other = "ONNX" if args.onnx else "float32" if args.float32 else None
        if other:  # then the other encoder for the whole run, then the default again: order does not decide
            started = time.perf_counter()
            other_store = Path(tmp) / "other-store"
            with _other_encoder(other, other_store) as encode:
                build(corpus, other_store, progress=False, encode=encode,
                      **({**where, "namespace": "bench-other"} if where else {}))
            other_s = time.perf_counter() - started
            started = time.perf_counter()
            build(corpus, Path(tmp) / "again-store", progress=False, **({**where, "namespace": "bench-again"} if where else {}))
            again_s = time.perf_counter() - started
        texts = [node_for(c, title, outlet).get_content(metadata_mode="embed")
                 for c, title, outlet in open_store(store, **where).all_chunks()]
        server_mb = peak_rss_mb(server.pid) if server else None
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(default_model_path(), device="cpu")
        started = time.perf_counter()
        with matmul_precision():  # the precision the default indexing run used
            model.encode(texts, batch_size=64)
        encode_s = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        "| store | articles | chunks | index s | articles/s | chunks/s | raw encode s | ratio | peak RSS MB | Chroma server peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {'server' if args.server else 'embedded'} | {summary.articles} | {summary.chunks} | {index_s:.1f} | "
        f"{summary.articles / index_s:.1f} | {summary.chunks / index_s:.1f} | {encode_s:.1f} | "
        f"{index_s / encode_s:.2f}x | {peak_mb:.0f} | {f'{server_mb:.0f}' if server_mb else '-'} |",
    ]
    if other_s:
        rows.append(f"\nThe same corpus indexed with the {other} encoder throughout: {other_s:.1f} s, then as by default "
                    f"again: {again_s:.1f} s; default / {other} = {index_s / other_s:.2f}x (first run), "
                    f"{again_s / other_s:.2f}x (second)")
    report = "\n".join(rows)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", encoding="utf-8") as f:
            flag = "".join(f" --{name}" for name in ("server", "onnx", "float32") if getattr(args, name))
            f.write(f"\n`python -m evals.bench_index --articles {args.articles}{flag}`\n\n{report}\n")


@contextmanager
def _other_encoder(kind: str, store: Path):
    """``encode`` for indexing into ``store`` with the ONNX export throughout, or None (the default
    encoder) with torch held to float32 (the default uses bfloat16 matrix products where the CPU has
    them, ``index.embed``)."""
    if kind == "ONNX":
        from index.encoder import query_encoder

        yield lambda texts, spans: query_encoder(store, default_model_path()).embed_with_spans(texts, spans)
        return
    with patch.dict(os.environ, {"QA_EMBED_FLOAT32": "1"}):
        yield None


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a running process (Linux ``VmHWM``), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024


if __name__ == "__main__":
    main()

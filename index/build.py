"""Build or update the index from a corpus folder, embedding only new or changed articles.

Writes go in an order that makes a run killed at any point (kill -9 included) safe, and completed by
the next run:
1. catalog: the article becomes ``pending`` and its old chunk rows go (readers stop using them);
2. Chroma: the article's old vectors are deleted and the new ones added (chunk ids are stable);
3. catalog: the new chunk rows are written and the article becomes ``done``;
4. BM25 is rebuilt from the catalog and switched in as a new generation.
A later run redoes every article it finds ``pending``. Two runs on one store never overlap: the
second waits for the first's lock (on a Chroma server, a run from elsewhere is refused by the lease).
A write that fails because the store folder's disk is full raises ``DiskFullError`` naming the folder;
what was written before stays pending, as after a kill. This module does not answer questions.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from index.chunk import DEFAULT_CHUNK_WORDS, DEFAULT_OVERLAP_SENTENCES, chunk_article
from index.embed import default_model_path, embed_with_spans, load_embedder
from index.encoder import export, exported, query_encoder
from index.errors import ConfigError, CorpusError, QAError
from index.read import corpus_listing, read_corpus
from index.store import Stats, Store, node_for, open_store, sentence_rows
from index.types import Article, Chunk, Skipped

Encoder = Callable[[list[str], list[list[tuple[int, int]]]], tuple[list, list]]
BATCH_CHUNKS = 256  # chunks embedded and written together: amortises Chroma and SQLite round trips
LOCK_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Summary:
    """What one ``build`` did."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0
    skipped: tuple[Skipped, ...] = ()
    embedded: int = 0  # chunks embedded by this run
    articles: int = 0  # articles in the index after the run
    chunks: int = 0  # chunks in the index after the run
    seconds: float = 0.0
    rebuilt: bool = False
    corpus: str = ""  # the folder indexed, for the lines below
    ignored: tuple[str, ...] = ()  # files of the folder that are not articles (``index.read.corpus_listing``)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def lines(self) -> list[str]:
        """The summary as lines for people."""
        out = [
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged, {len(self.skipped)} skipped",
            f"{self.articles} articles, {self.chunks} chunks in the index; "
            f"{self.embedded} chunks embedded in {self.seconds:.1f} s",
        ]
        if not self.changed and not self.rebuilt:
            out.append("nothing changed: nothing was embedded")
        if not self.articles:
            out.append(f"no articles in {self.corpus or 'the corpus folder'}: articles are .txt, .md, .html or .htm files")
        if self.ignored:
            shown = ", ".join(self.ignored[:5]) + (f" and {len(self.ignored) - 5} more" if len(self.ignored) > 5 else "")
            out.append(f"not read (not .txt, .md, .html or .htm): {shown}")
        out += [f"skipped {s.source}: {s.reason}" for s in self.skipped]
        return out


@dataclass
class _Batch:
    items: list[tuple[Article, str, list[Chunk], bool]] = field(default_factory=list)
    size: int = 0


def article_key(article: Article, chunk_words: int, overlap: int, model: str) -> str:
    """What decides whether an article must be re-embedded: its bytes, the chunking, the model."""
    return hashlib.sha256(f"{article.sha256}|{chunk_words}|{overlap}|{model}".encode()).hexdigest()


def build(
    corpus: Path | str,
    store_folder: Path | str,
    *,
    model_path: str | None = None,
    chunk_words: int = DEFAULT_CHUNK_WORDS,
    overlap: int = DEFAULT_OVERLAP_SENTENCES,
    rebuild: bool = False,
    progress: bool = True,
    batch_chunks: int = BATCH_CHUNKS,
    lock_timeout: float = LOCK_TIMEOUT_S,
    encode: Encoder | None = None,
    chroma_url: str | None = None,
    namespace: str = "qa",
) -> Summary:
    """Bring the store in ``store_folder`` in line with the articles in ``corpus``; return a summary.

    ``encode(texts, spans)`` returns a vector per text and per-text float16 arrays of span vectors;
    the default is the model at ``model_path`` (``_encoder``: torch, or its ONNX export for a small run). Benchmarks pass
    one that reuses vectors, to fill a large store through this same path. With ``chroma_url`` the
    index lives on that Chroma server (collections ``<namespace>-*``) and ``store_folder`` only holds
    the lock and a cache. The folder also gets the ONNX export of the model that asking embeds queries
    with (``index.encoder``), once.
    """
    started = time.perf_counter()
    corpus, store = Path(corpus), open_store(store_folder, chroma_url, namespace)
    model = model_path or default_model_path()
    files, ignored = corpus_listing(corpus)  # raises CorpusError for a missing folder before touching the store
    try:
        with store.writing(lock_timeout):
            if rebuild:
                store.remove()
            store.create()
            built_with = store.meta("embed_model")
            if built_with and built_with != model:
                raise ConfigError(
                    f"the index in {store.location} was built with the model {built_with}; "
                    f"to use {model}, run `qa index --rebuild`"
                )
            store.set_meta(embed_model=model)
            _refuse_replacing(store, corpus, {source for _, source in files})
            if not exported(store.folder, model):  # made once per store folder: the only step that imports torch
                export(store.folder, model)
            encode = encode or _encoder(store.folder, model, batch_chunks)
            filled = store.meta("sentence_vectors") != "1"
            if filled:  # an index made before sentences were searchable
                _fill_sentence_vectors(store)
            summary = _update(store, corpus, len(files), encode, chunk_words, overlap, progress, batch_chunks, model)
            changed = filled or bool(summary["added"] or summary["updated"] or summary["removed"])
            stats = store.stats()  # as this run leaves it: settling changes no article or chunk
            _settle(store, changed, catalog_state(stats))
    except Exception as err:  # a write that failed for want of room says so, and where
        full = None if isinstance(err, QAError) else store.disk_full(err)
        if full is None:
            raise
        raise full from None
    return Summary(**{**summary, "articles": stats.articles, "chunks": stats.chunks,
                      "seconds": time.perf_counter() - started, "rebuilt": rebuild,
                      "corpus": str(corpus), "ignored": tuple(ignored)})


def _refuse_replacing(store: Store, corpus: Path, sources: set[str]) -> None:
    """A ``CorpusError`` when the index holds articles and none of them is in ``corpus``: a store mirrors
    one folder, so indexing another one (or an empty one) would remove every article it holds. A
    rebuild (which empties the store first) is how to replace them on purpose."""
    known = store.article_keys()
    if known and not sources & set(known):
        raise CorpusError(
            f"the index in {store.location} holds {len(known)} article(s), none of them in {corpus}: indexing "
            f"that folder would remove them all. Give it its own index (another --store folder, or on a Chroma "
            f"server another QA_NAMESPACE), or pass --rebuild to replace this index with it")


def catalog_state(stats: Stats) -> str:
    """What the catalog looks like, as noted when the vector indexes were last written out whole: any run
    that adds, replaces or removes an article, or stops half way, leaves another.

    >>> catalog_state(Stats(5, 35, 1700000000.25, 0))
    '5/35/1700000000.25/0'
    """
    return f"{stats.articles}/{stats.chunks}/{stats.last_indexed}/{stats.pending}"


def _settle(store: Store, changed: bool, state: str) -> None:
    """``store.settle()`` unless this run changed nothing and the catalog is as the last settle left it:
    settling reopens every collection, most of a run that finds nothing to do (0.8-1.35 s of it on the
    eval stores). ``state`` is the catalog's (``catalog_state``). A store indexed before settling existed
    has no note and settles once."""
    if not changed and store.meta("settled_state") == state:
        return
    if store.settle():
        store.set_meta(settled_state=state)


def _encoder(store_folder: Path, model: str, batch_chunks: int) -> Encoder:
    """The default ``encode``: torch (``index.embed``) for a run that embeds ``batch_chunks`` chunks or
    more, the store's ONNX export (``index.encoder``) for a smaller one, decided at the first call (a
    first batch smaller than ``batch_chunks`` is the whole run). Their vectors agree (cosine >= 0.9999,
    tests/test_index_encoder.py); torch is about 2x faster on long runs on a CPU with bfloat16 matrix
    instructions (about 1.1x without), and a small update that does not import torch starts seconds
    sooner (docs/benchmarks.md)."""
    chosen: list[Encoder] = []

    def encode(texts, spans):
        if not chosen:
            small = len(texts) < batch_chunks
            chosen.append(query_encoder(store_folder, model).embed_with_spans if small
                          else (lambda t, s: embed_with_spans(load_embedder(model), t, s)))
        return chosen[0](texts, spans)

    return encode


def _update(store: Store, corpus: Path, total: int, encode: Encoder, chunk_words: int, overlap: int,
            progress: bool, batch_chunks: int, model: str) -> dict:
    from tqdm import tqdm

    known = store.article_keys()
    seen: set[str] = set()
    added, updated, skipped = [], [], []
    unchanged = embedded = 0
    batch = _Batch()
    bar = tqdm(total=total, desc="indexing", unit="article", file=sys.stderr, disable=not progress)

    def flush() -> None:
        nonlocal embedded
        if not batch.items:
            return
        store.begin((article, key) for article, key, _, _ in batch.items)
        store.delete_vectors(article.source for article, _, _, was_known in batch.items if was_known)
        articles = {article.source: article for article, _, _, _ in batch.items}
        chunks = [chunk for _, _, article_chunks, _ in batch.items for chunk in article_chunks]
        nodes = [node_for(c, articles[c.source].title, articles[c.source].outlet) for c in chunks]
        texts = [node.get_content(metadata_mode="embed") for node in nodes]
        spans = [_sentence_spans(chunk, text) for chunk, text in zip(chunks, texts)]
        vectors, sentence_vectors = encode(texts, spans)
        for node, vector in zip(nodes, vectors):
            node.embedding = vector
        store.add_vectors(nodes)
        store.add_sentence_vectors(sentence_records(chunks, sentence_vectors))
        store.finish(chunks, articles, {c.id: v.tobytes() for c, v in zip(chunks, sentence_vectors)})
        embedded += len(chunks)
        batch.items.clear()
        batch.size = 0

    for item in read_corpus(corpus):
        bar.update(1)
        seen.add(item.source)
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        key = article_key(item, chunk_words, overlap, model)
        previous = known.get(item.source)
        if previous == (key, "done"):
            unchanged += 1
            continue
        (updated if previous else added).append(item.source)
        chunks = chunk_article(item.source, item.text, item.body, chunk_words, overlap)
        batch.items.append((item, key, chunks, previous is not None))
        batch.size += len(chunks)
        if batch.size >= batch_chunks:
            flush()
    flush()
    bar.close()
    removed = sorted(set(known) - seen)
    if removed:
        store.delete_vectors(removed)
        store.forget(removed)
    if added or updated or removed or not store.meta("bm25_generation"):
        _rebuild_bm25(store)
    return {"added": tuple(added), "updated": tuple(updated), "removed": tuple(removed),
            "unchanged": unchanged, "skipped": tuple(skipped), "embedded": embedded}


def _sentence_spans(chunk: Chunk, embedded_text: str) -> list[tuple[int, int]]:
    """Where the chunk's sentences are in the text that is embedded (metadata header, then the chunk)."""
    base = len(embedded_text) - len(chunk.text)
    return [(base + s.start - chunk.start, base + s.end - chunk.start) for s in chunk.sentences]


def sentence_records(chunks: list[Chunk], vectors: list) -> list[tuple[str, list[float], dict]]:
    """(id, vector, metadata) of each sentence of ``chunks`` once (overlapping chunks share sentences;
    the first chunk holding one keeps it), from the chunks' per-sentence vectors.

    >>> from index.types import Span
    >>> a = Chunk("c1", "x.txt", 0, 9, "Aa. Bb. C", (Span(0, 3), Span(4, 7)))
    >>> b = Chunk("c2", "x.txt", 4, 12, "Bb. Cc.", (Span(4, 7), Span(8, 11)))
    >>> v = [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [float("nan"), 0.0]]]
    >>> [(i, m["chunk"], m["start"]) for i, _, m in sentence_records([a, b], v)]
    [('c1#0', 'c1', 0), ('c1#1', 'c1', 4)]
    """
    import numpy as np

    seen: set[tuple[str, int]] = set()
    records = []
    for chunk, rows in zip(chunks, vectors):
        for i, (span, row) in enumerate(zip(chunk.sentences, rows)):
            if (chunk.source, span.start) in seen or not len(row) or not np.isfinite(row).all():
                continue  # (a sentence past the model's input length has no vector: NaN)
            seen.add((chunk.source, span.start))
            records.append((f"{chunk.id}#{i}", [float(x) for x in row],
                            {"document_id": chunk.source, "chunk": chunk.id, "start": span.start}))
    return records


def _fill_sentence_vectors(store: Store) -> None:
    """Give an index made before sentences were searchable its sentence vectors, from the per-sentence
    vectors its catalog already keeps: nothing is embedded again."""
    ids = [chunk.id for chunk, _, _ in store.all_chunks()]
    for i in range(0, len(ids), BATCH_CHUNKS):
        stored = store.chunks(ids[i:i + BATCH_CHUNKS])
        chunks = [Chunk(c.id, c.source, c.start, c.end, c.text, c.sentences) for c in stored.values() if c.vectors]
        rows = [sentence_rows(stored[c.id]) for c in chunks]
        store.add_sentence_vectors(sentence_records(chunks, rows))
    store.set_meta(sentence_vectors="1")


def _rebuild_bm25(store: Store) -> None:
    """A new BM25 snapshot from the catalog, built as llama-index's ``BM25Retriever`` builds one (same
    tokenizer, stopwords and stemmer: ``BM25Retriever.from_defaults(nodes=...)``), but streamed: no
    node objects for the whole corpus, and a snapshot that keeps only each chunk's id (texts come from
    the catalog), so it is small to store and quick to load."""
    import bm25s
    import Stemmer
    from llama_index.retrievers.bm25 import BM25Retriever

    ids: list[str] = []

    def texts():
        for chunk, title, outlet in store.all_chunks():
            ids.append(chunk.id)
            yield node_for(chunk, title, outlet).get_content(metadata_mode="embed")

    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize(texts(), stopwords="en", stemmer=stemmer, show_progress=False,
                            token_pattern=r"(?u)\b\w\w+\b")
    if not ids:
        store.clear_bm25()
        return
    bm25 = bm25s.BM25(corpus=[{"node_id": i, "_node_content": json.dumps({"id_": i})} for i in ids])
    bm25.index(tokens, show_progress=False)
    store.save_bm25(BM25Retriever(existing_bm25=bm25, stemmer=stemmer, similarity_top_k=min(len(ids), 50)))

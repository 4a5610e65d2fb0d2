"""Where the index lives: a catalog, a Chroma collection of chunk vectors and a BM25 snapshot, in step.

Two places, one interface (``Store``), chosen by ``open_store``: a folder on this machine
(``LocalStore``: SQLite catalog, embedded Chroma, BM25 files; the default) or a Chroma server
(``index.server.ServerStore``: everything in the server's collections, so every process that talks to
it sees the same index). The catalog is the source of truth: an article's chunks count only once the
catalog marks the article ``done``, so a reader never uses a vector or keyword hit whose chunk is half
written or already gone (it checks every hit against the catalog). The catalog also keeps each
article's original text, so citation offsets stay valid after the corpus file changes. This module
stores and loads; it does not read corpus files, chunk, embed or rank.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.errors import DiskFullError, NoIndexError, StoreError
from index.types import Article, Chunk, Span

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

SCHEMA_VERSION = "2"
# Chunk texts kept in memory by each folder store: a chunk's id is a hash of its source, offsets and text
# (``index.chunk.chunk_id``), so a kept text never goes stale, and the catalog need not send the article's
# whole text again for a chunk asked for before (most of a question's catalog read, on long articles)
KEPT_TEXTS = 20_000
_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # no space, over the file-size limit, over quota
# what SQLite and Chroma (through SQLite or its Rust layer) say when a write failed for want of room; Chroma
# says only "failed to apply logs" when writing its log into the metadata segment failed (it drops SQLite's
# "disk I/O error"): a probe write beside the store then tells a full disk from another failure
_WRITE_FAILED = ("disk i/o error", "disk is full", "no space left", "file too large", "quota exceeded",
                 "failed to apply logs")
_PROBE_BYTES = 1 << 20  # a failed write counts as a full disk if this much cannot be written beside it
COLLECTION = "chunks"
# One vector per sentence (its late-chunking vector), for finding the sentences nearest a question
# across the corpus: a passage of many sentences on one topic hides the one that answers
SENTENCES = "sentence-vectors"
# Candidates HNSW explores per search. Chroma's default (100) missed 74 of the true 20 nearest chunks
# over the 310 eval questions on the 5,889-chunk eval corpus (52 questions affected) and 178 of the
# nearest sentences among 30,575; 1000 found all of them, at about +1 ms a search (docs/benchmarks.md).
SEARCH_EF = 1000
# The sentence search, the longer of the two searches run side by side, explores fewer: of the true 10
# nearest sentences of the 206 tune questions on that corpus, 400 misses 15 of 2,060 (1000: 2), with
# the same tune answers but one wrong one for another, for about 3 ms less a search (docs/evals.md)
SENTENCE_SEARCH_EF = 400
SYNC_THRESHOLD = 1000  # Chroma's ``sync_threshold``: vectors that come in before it writes its graph out
SETTLE_THRESHOLD = 1  # the threshold a settling store opens with: any waiting vector (``LocalStore.settle``)
# folder -> how many times this process had its vector indexes written out whole (``LocalStore.settle``):
# the other store objects of the folder then reopen their collections on the client that did it
_SETTLED: dict[str, int] = {}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles(
    source TEXT PRIMARY KEY, key TEXT NOT NULL, state TEXT NOT NULL,
    title TEXT NOT NULL, outlet TEXT, date TEXT, text TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
    id TEXT PRIMARY KEY, source TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    sentences TEXT NOT NULL, vectors BLOB);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
"""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the catalog knows it, with its article's metadata: what retrieval hands on."""

    id: str
    source: str
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]
    title: str
    outlet: str | None
    date: str | None
    vectors: bytes | None = None  # float16 rows, one per sentence: their late-chunking embeddings


def sentence_rows(chunk: StoredChunk):
    """The chunk's per-sentence vectors as a float16 array, one row per sentence (None without them).

    >>> import numpy as np
    >>> c = StoredChunk("c", "a.txt", 0, 7, "Aa. Bb.", (Span(0, 3), Span(4, 7)), "T", None, None,
    ...                 np.ones((2, 3), dtype=np.float16).tobytes())
    >>> sentence_rows(c).shape
    (2, 3)
    """
    import numpy as np

    if not chunk.vectors:
        return None
    return np.frombuffer(chunk.vectors, dtype=np.float16).reshape(len(chunk.sentences), -1)


@dataclass(frozen=True)
class StoredArticle:
    source: str
    text: str
    title: str
    outlet: str | None
    date: str | None


@dataclass(frozen=True)
class Stats:
    articles: int
    chunks: int
    last_indexed: float | None
    pending: int = 0  # articles whose (re)indexing has not finished


def node_for(chunk: Chunk, title: str, outlet: str | None = None) -> "TextNode":
    """The llama-index node stored in Chroma and BM25: chunk text, with title and outlet as embedded context."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={"title": title, "outlet": outlet or "", "source": chunk.source, "start": chunk.start, "end": chunk.end},
        excluded_embed_metadata_keys=["source", "start", "end"],
        excluded_llm_metadata_keys=["source", "start", "end"],
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.source)},
    )



class Store(ABC):
    """What indexing and asking need from an index, wherever it lives. Thread-safe for readers.

    ``folder`` is always a folder on this machine: it holds the indexing lock and, for a server
    store, a cache of the keyword snapshot. ``location`` names the index in messages.
    """

    folder: Path
    location: str

    def __init__(self) -> None:
        self._chroma_lock = threading.Lock()
        self._collections: dict[str, object] = {}  # Chroma collections by kind, once opened
        self._collections_identity: object = None
        self._vector_store = None  # llama-index's wrapper of it, for writing

    def no_index_error(self) -> NoIndexError:
        """The error for a store with no index yet, with the command that makes one there."""
        return NoIndexError(f"no index in {self.location}: run `qa index --store {self.folder}` first")

    # ---- catalog -------------------------------------------------------------------------------
    @abstractmethod
    def exists(self) -> bool: ...

    @abstractmethod
    def create(self) -> None:
        """Create an empty catalog if there is none; ``StoreError`` for one of another version."""

    @abstractmethod
    def identity(self) -> object:
        """Changes when the store is deleted and made again (``qa index --rebuild`` elsewhere), and when
        this process had a folder store's vector indexes written out (``LocalStore.settle``)."""

    @abstractmethod
    def meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, **values: str) -> None: ...

    @abstractmethod
    def article_keys(self) -> dict[str, tuple[str, str]]:
        """source -> (key, state) of every catalogued article."""

    @abstractmethod
    def begin(self, articles: Iterable[tuple[Article, str]]) -> None:
        """Mark articles as being (re)indexed: their old chunks stop counting at once."""

    @abstractmethod
    def finish(self, chunks: Iterable[Chunk], sources: Iterable[str], vectors: dict[str, bytes]) -> None:
        """Record the chunks (and their sentence vectors) of articles whose vectors are in Chroma, and
        mark those articles done."""

    @abstractmethod
    def forget(self, sources: Iterable[str]) -> None: ...

    @abstractmethod
    def chunks(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        """The catalogued chunks among ``ids`` (of done articles only), by id."""

    @abstractmethod
    def all_chunks(self) -> Iterator[tuple[Chunk, str, str | None]]:
        """Every done chunk with its article's title and outlet (for BM25), streamed."""

    @abstractmethod
    def article(self, source: str) -> StoredArticle | None: ...

    @abstractmethod
    def stats(self) -> Stats: ...

    @abstractmethod
    def sample_chunk_ids(self, n: int) -> list[str]:
        """Up to ``n`` ids of done chunks, drawn at random from the catalog (for ``index.health``)."""

    def sample_vector_ids(self, n: int) -> list[str]:
        """Up to ``n`` ids of chunk vectors, from a random place in the Chroma collection."""
        import random

        collection = self.collection()
        offset = random.randint(0, max(0, collection.count() - n))
        return collection.get(limit=n, offset=offset, include=[])["ids"]

    @abstractmethod
    def remove(self) -> None:
        """Delete everything the store holds (for ``--rebuild``); the lock file stays."""

    def disk_full(self, err: BaseException) -> DiskFullError | None:
        """``DiskFullError`` naming the folder if ``err`` is a write that failed because the disk holding
        the store folder is full (or the process's file-size limit is reached), else None. SQLite and
        Chroma report a short write as a "disk I/O error": a probe write beside the store tells."""
        if isinstance(err, OSError) and err.errno in _FULL_ERRNOS:
            detail = os.strerror(err.errno)
        elif any(m in str(err).lower() for m in _WRITE_FAILED) and not _room_in(self.folder):
            detail = str(err).strip().splitlines()[0][:200]
        else:
            return None
        return DiskFullError(f"the disk holding {self.folder} is full ({detail}); free some space there and run "
                             "`qa index` again (until then the index answers as before this run)")

    def _damaged(self, err: Exception) -> StoreError:
        return StoreError(f"the store in {self.location} is damaged ({err}); run `qa index --rebuild`")

    @contextmanager
    def writing(self, timeout: float) -> Iterator[None]:
        """Held while indexing: one writer at a time (the second waits up to ``timeout`` seconds)."""
        from filelock import FileLock, Timeout

        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(self.folder / "index.lock", timeout=timeout):
                yield
        except Timeout:
            raise StoreError(f"another `qa index` is writing to {self.location}; wait for it to finish") from None

    # ---- Chroma --------------------------------------------------------------------------------
    @abstractmethod
    def _open_collection(self, kind: str = COLLECTION):
        """The Chroma collection of chunk (or, for ``SENTENCES``, sentence) vectors: cosine space,
        never Chroma's own embedder."""

    def collection(self, kind: str = COLLECTION):
        """The Chroma collection of chunk vectors, or of sentence vectors for ``SENTENCES`` (opened once,
        and again after the store was rebuilt by another process). Asking queries them directly:
        llama-index is not imported to answer."""
        with self._chroma_lock:
            identity = self.identity()
            if self._collections and identity != self._collections_identity:
                self._reopen(self._collections_identity, identity)
            if kind not in self._collections:
                self._collections[kind], self._collections_identity = self._open_collection(kind), identity
            return self._collections[kind]

    def vector_store(self):
        """The llama-index ``ChromaVectorStore`` over ``collection()``, for writing at indexing."""
        collection = self.collection()
        with self._chroma_lock:
            if self._vector_store is None or self._vector_store._collection is not collection:
                from llama_index.vector_stores.chroma import ChromaVectorStore

                self._vector_store = ChromaVectorStore(chroma_collection=collection)
            return self._vector_store

    def _forget_chroma_client(self) -> None:
        self._collections, self._vector_store = {}, None

    def _reopen(self, before: object, now: object) -> None:
        """Drop the collections opened while the store's ``identity`` was ``before`` (it is ``now``)."""
        self._forget_chroma_client()

    def settle(self) -> bool:
        """Have the vector indexes written out whole at the end of an indexing run, so that every process
        searches the same graph (``LocalStore``; a Chroma server keeps its own); False if that failed."""
        return True

    def add_vectors(self, nodes: list["TextNode"]) -> None:
        self.vector_store().add(nodes)

    def add_sentence_vectors(self, records: list[tuple[str, list[float], dict]]) -> None:
        """Store (id, vector, metadata) records of sentences; the metadata names the article as
        ``document_id`` (as llama-index does for chunks), so ``delete_vectors`` finds them."""
        collection = self.collection(SENTENCES)
        for i in range(0, len(records), 1000):
            page = records[i:i + 1000]
            collection.upsert(ids=[r[0] for r in page], embeddings=[r[1] for r in page],
                              metadatas=[r[2] for r in page])

    def delete_vectors(self, sources: Iterable[str]) -> None:
        sources = list(sources)
        for i in range(0, len(sources), 500):  # a call per 500, not per article: round trips count on a server
            for kind in (COLLECTION, SENTENCES):
                self.collection(kind).delete(where={"document_id": {"$in": sources[i:i + 500]}})

    # ---- BM25 ----------------------------------------------------------------------------------
    def save_bm25(self, retriever: Any) -> None:
        """Persist a llama-index ``BM25Retriever`` as a new generation, switch to it, drop older ones."""
        generation = f"{time.time_ns()}"
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.folder, ignore_cleanup_errors=True) as tmp:
            retriever.persist(tmp, show_progress=False)  # else bm25s draws a bar on stderr
            self._put_snapshot(generation, Path(tmp))
        self.set_meta(bm25_generation=generation)
        self._drop_snapshots(keep=generation)

    def load_bm25(self, generation: str):
        """The ``bm25s.BM25`` index of ``generation`` with its corpus (chunk ids), as ``save_bm25`` stored
        it; ``StoreError`` if it is damaged or gone. Loaded without llama-index (asking does not need it)."""
        import bm25s

        try:
            return bm25s.BM25.load(str(self._snapshot_dir(generation)), load_corpus=True)
        except (OSError, ValueError) as err:
            raise StoreError(f"the keyword index of {self.location} is damaged or missing (generation "
                             f"{generation}: {type(err).__name__}); run `qa index --rebuild`") from None

    @abstractmethod
    def _put_snapshot(self, generation: str, files: Path) -> None: ...

    @abstractmethod
    def _snapshot_dir(self, generation: str) -> Path:
        """A local folder holding the snapshot's files (``OSError`` when it is gone)."""

    @abstractmethod
    def _drop_snapshots(self, keep: str | None) -> None: ...

    def clear_bm25(self) -> None:
        self.set_meta(bm25_generation="")
        self._drop_snapshots(keep=None)


class LocalStore(Store):
    """One store folder: ``catalog.sqlite``, ``chroma/`` and ``bm25/<generation>/``."""

    def __init__(self, folder: Path | str):
        super().__init__()
        self.folder = Path(folder)
        self.location = str(self.folder)
        self.catalog_path = self.folder / "catalog.sqlite"
        self._key = os.path.realpath(self.folder)
        self._local = threading.local()
        self._texts: dict[str, str] = {}  # chunk id -> text, at most KEPT_TEXTS, the first kept go first
        self._texts_lock = threading.Lock()

    # ---- catalog -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.catalog_path.is_file()

    def identity(self) -> object:
        return self.catalog_path.stat().st_ino if self.exists() else None, _SETTLED.get(self._key, 0)

    def _reopen(self, before: object, now: object) -> None:
        if before[0] != now[0]:  # the catalog was replaced: the whole store was made again
            self._forget_chroma_client()
        else:  # only settled by another store object of this process, whose client is the one to use
            super()._forget_chroma_client()

    def settle(self) -> bool:
        """Chroma writes a collection's HNSW graph to disk only once ``sync_threshold`` (1000) vectors have
        come in since it last did; the later ones wait in its log, and every process that opens the store
        inserts them into its graph again, in an order that differs from process to process. So the graph,
        and the tail of a search, differed: on the 161-article eval store the 20th-nearest chunk of one
        question (and with it the fused scores) changed in 1 to 4 processes of 8. Chroma has no call that writes
        the graph (chroma-core/chroma#7463), but a process that opens a collection whose threshold is below
        the vectors waiting writes it. So the threshold is lowered, the collections are opened afresh on a
        new client (the other store objects of this process move to it: ``_SETTLED``), and the threshold
        is put back (indexing keeps writing at Chroma's pace). Best effort: a store where it cannot be done
        answers as before (False)."""
        try:
            kept = {kind: self.collection(kind).configuration_json["hnsw"]["sync_threshold"]
                    for kind in (COLLECTION, SENTENCES)}
            for kind in kept:
                self.collection(kind).modify(configuration={"hnsw": {"sync_threshold": SETTLE_THRESHOLD}})
            with self._chroma_lock:
                self._forget_chroma_client()
                _SETTLED[self._key] = _SETTLED.get(self._key, 0) + 1
            for kind, threshold in kept.items():
                reopened = self.collection(kind)
                reopened.count()  # loading the graph inserts the waiting vectors and writes it
                # a run that stopped half way may have left the lowered one: Chroma's own is put back then
                kept_threshold = threshold if threshold > SETTLE_THRESHOLD else SYNC_THRESHOLD
                reopened.modify(configuration={"hnsw": {"sync_threshold": kept_threshold}})
        except Exception:  # chromadb raises many unrelated types; a store that cannot settle still answers
            return False
        return True

    @contextmanager
    def _db(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection to the catalog (kept open: asking is a hot path)."""
        conn = getattr(self._local, "conn", None)
        try:
            inode = self.catalog_path.stat().st_ino
        except FileNotFoundError:
            inode = None
        if conn is not None and inode != getattr(self._local, "inode", None):
            conn.close()  # the catalog was deleted or replaced (`qa index --rebuild` in another process)
            self._local.conn = conn = None
        if inode is None:
            if not create:
                raise self.no_index_error()
            self.folder.mkdir(parents=True, exist_ok=True)
        try:
            if conn is None:
                conn = sqlite3.connect(self.catalog_path, timeout=60)
                conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the indexer
                self._local.conn, self._local.inode = conn, self.catalog_path.stat().st_ino
            if create:
                conn.executescript(_SCHEMA)
            with conn:
                yield conn
        except sqlite3.DatabaseError as err:
            raise (self.disk_full(err) or self._damaged(err)) from None

    def create(self) -> None:
        with self._db(create=True) as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            (schema,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if schema != SCHEMA_VERSION:
            raise StoreError(f"the store in {self.folder} was written by another version (schema {schema}); "
                             "run `qa index --rebuild`")

    def meta(self, key: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        with self._db() as db:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values.items())

    def article_keys(self) -> dict[str, tuple[str, str]]:
        with self._db() as db:
            return {s: (k, st) for s, k, st in db.execute("SELECT source, key, state FROM articles")}

    def begin(self, articles: Iterable[tuple[Article, str]]) -> None:
        now = time.time()
        with self._db() as db:
            for article, key in articles:
                db.execute("DELETE FROM chunks WHERE source = ?", (article.source,))
                db.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (article.source, key, article.title, article.outlet, article.date, article.text, now),
                )

    def finish(self, chunks: Iterable[Chunk], sources: Iterable[str], vectors: dict[str, bytes]) -> None:
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.source, c.start, c.end, json.dumps([[s.start, s.end] for s in c.sentences]),
                  vectors.get(c.id)) for c in chunks],
            )
            db.executemany("UPDATE articles SET state = 'done' WHERE source = ?", [(s,) for s in sources])

    def forget(self, sources: Iterable[str]) -> None:
        with self._db() as db:
            for source in sources:
                db.execute("DELETE FROM chunks WHERE source = ?", (source,))
                db.execute("DELETE FROM articles WHERE source = ?", (source,))

    def chunks(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        # looked up once: another thread may drop a kept text meanwhile
        kept = {cid: text for cid in ids if (text := self._texts.get(cid)) is not None}
        # the article's text only for chunks whose text is not kept (SQLite reads a column only when asked)
        with self._db() as db:
            rows = db.execute(
                f"SELECT c.id, c.source, c.start, c.end, c.sentences, "
                f"CASE WHEN c.id IN ({','.join('?' * len(kept))}) THEN NULL ELSE a.text END, "
                f"a.title, a.outlet, a.date, c.vectors FROM chunks c JOIN articles a ON a.source = c.source "
                f"WHERE a.state = 'done' AND c.id IN ({','.join('?' * len(ids))})",
                [*kept, *ids],
            ).fetchall()
        out = {}
        for cid, src, start, end, sents, text, title, outlet, date, vectors in rows:
            piece = kept[cid] if text is None else self._keep(cid, text[start:end])
            out[cid] = StoredChunk(cid, src, start, end, piece, tuple(Span(s, e) for s, e in json.loads(sents)),
                                   title, outlet, date, vectors)
        return out

    def _keep(self, cid: str, text: str) -> str:
        """``text`` kept as chunk ``cid``'s, the first kept dropped past ``KEPT_TEXTS``."""
        with self._texts_lock:
            if len(self._texts) >= KEPT_TEXTS:
                del self._texts[next(iter(self._texts))]
            self._texts[cid] = text
        return text

    def all_chunks(self) -> Iterator[tuple[Chunk, str, str | None]]:
        """Every done chunk with its article's title and outlet, in source and offset order (for BM25)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.source, c.start, c.end, a.text, a.title, a.outlet FROM chunks c "
                "JOIN articles a ON a.source = c.source WHERE a.state = 'done' ORDER BY c.source, c.start"
            )
            for cid, src, start, end, text, title, outlet in rows:
                yield Chunk(cid, src, start, end, text[start:end]), title, outlet

    def article(self, source: str) -> StoredArticle | None:
        with self._db() as db:
            row = db.execute(
                "SELECT source, text, title, outlet, date FROM articles WHERE source = ? AND state = 'done'",
                (source,),
            ).fetchone()
        return StoredArticle(*row) if row else None

    def stats(self) -> Stats:
        with self._db() as db:
            articles, last = db.execute(
                "SELECT COUNT(*), MAX(indexed_at) FROM articles WHERE state = 'done'"
            ).fetchone()
            (chunks,) = db.execute("SELECT COUNT(*) FROM chunks").fetchone()
            (pending,) = db.execute("SELECT COUNT(*) FROM articles WHERE state != 'done'").fetchone()
        return Stats(articles, chunks, last, pending)

    def sample_chunk_ids(self, n: int) -> list[str]:
        with self._db() as db:
            return [cid for (cid,) in db.execute(
                "SELECT c.id FROM chunks c JOIN articles a ON a.source = c.source WHERE a.state = 'done' "
                "ORDER BY random() LIMIT ?", (n,))]


    # ---- Chroma --------------------------------------------------------------------------------
    def _open_collection(self, kind: str = COLLECTION):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        folder = self.folder / "chroma"
        has_chunks = self.exists() and self.stats().chunks > 0
        if not folder.is_dir() and has_chunks:
            raise StoreError(f"the store in {self.folder} has lost its vectors ({folder} is missing); "
                             "run `qa index --rebuild`")
        try:
            client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
            collection = client.get_or_create_collection(
                kind, metadata={"hnsw:space": "cosine"}, embedding_function=None
            )
        except Exception as err:  # chromadb raises many unrelated types for a damaged folder
            raise self._damaged(err) from None
        search_deeply(collection, kind)
        if kind == COLLECTION and has_chunks and collection.count() == 0:
            raise StoreError(f"the store in {self.folder} has lost its vectors; run `qa index --rebuild`")
        return collection

    def _forget_chroma_client(self) -> None:
        super()._forget_chroma_client()
        try:  # Chroma caches one client per path in the process; a deleted folder must not be reused
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
        except ImportError:
            pass

    # ---- BM25 ----------------------------------------------------------------------------------
    def _put_snapshot(self, generation: str, files: Path) -> None:
        (self.folder / "bm25").mkdir(exist_ok=True)
        files.rename(self.folder / "bm25" / generation)

    def _snapshot_dir(self, generation: str) -> Path:
        return self.folder / "bm25" / generation

    def _drop_snapshots(self, keep: str | None) -> None:
        folder = self.folder / "bm25"
        for old in folder.iterdir() if folder.is_dir() else ():
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)

    def remove(self) -> None:
        self._forget_chroma_client()
        # close our connection before unlinking: a new catalog could reuse a freed inode number, and
        # _db() tells a replaced catalog by its inode
        if getattr(self._local, "conn", None) is not None:
            self._local.conn.close()
            self._local.conn = None
        for name in ("chroma", "bm25"):
            shutil.rmtree(self.folder / name, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.catalog_path}{suffix}").unlink(missing_ok=True)


def _room_in(folder: Path) -> bool:
    """Whether a file of ``_PROBE_BYTES`` can still be written in ``folder`` (it is removed again)."""
    probe = folder / f".room-{os.getpid()}-{threading.get_ident()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * _PROBE_BYTES)
            f.flush()
            os.fsync(f.fileno())
        return True
    except OSError as err:
        return err.errno not in _FULL_ERRNOS
    finally:
        probe.unlink(missing_ok=True)


def open_store(folder: Path | str, chroma_url: str | None = None, namespace: str = "qa") -> Store:
    """The store in ``folder``, or, given ``chroma_url``, the one on that Chroma server (its
    collections named ``<namespace>-...``; ``folder`` then only holds the lock and a cache)."""
    if chroma_url:
        from index.server import ServerStore

        return ServerStore(chroma_url, folder, namespace)
    return LocalStore(folder)


SETTING_ATTEMPTS = 5  # Chroma's SQLite answers "database is locked" at once, without waiting: try again


def search_depth(kind: str) -> int:
    """How many candidates HNSW explores in a search of the ``kind`` collection.

    >>> search_depth(COLLECTION), search_depth(SENTENCES)
    (1000, 400)
    """
    return SENTENCE_SEARCH_EF if kind == SENTENCES else SEARCH_EF


def search_deeply(collection, kind: str, attempts: int = SETTING_ATTEMPTS) -> None:
    """Let the HNSW search of ``collection`` (of ``kind``) explore ``search_depth(kind)`` candidates (a
    setting Chroma keeps with the collection, so stores made before get it the first time they are
    opened; a process that has already searched a collection keeps the depth it loaded). Where the setting
    cannot be written (a read-only store), searches keep the old depth: slightly less exact, not wrong.
    A database locked for a moment (seen on a loaded machine, with Chroma's own background writes) is
    tried again, 0.05 s, 0.1 s, ... apart."""
    ef = search_depth(kind)
    for attempt in range(attempts):
        try:
            if (collection.configuration_json.get("hnsw") or {}).get("ef_search") != ef:
                collection.modify(configuration={"hnsw": {"ef_search": ef}})
            return
        except Exception as err:  # chromadb raises many unrelated types for a read-only or older store
            if "database is locked" not in str(err) or attempt == attempts - 1:
                return
            time.sleep(0.05 * 2 ** attempt)

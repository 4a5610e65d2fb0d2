"""The index on a Chroma server: catalog, chunk vectors and keyword snapshot, all in its collections.

Every process that talks to the same server and namespace sees the same index, so several ``qa serve``
on several machines answer alike, and ``qa index`` from any machine updates it for all. Collections
(``<ns>`` is the namespace, ``qa`` by default):

- ``<ns>-chunks``: the chunk vectors, written and queried by llama-index's ``ChromaVectorStore``;
- ``<ns>-sentence-vectors``: one vector per sentence (its late-chunking vector), for sentence search;
- ``<ns>-articles``: one record per article; document = its text, metadata = key, state, title, ...;
- ``<ns>-sentences``: one record per chunk; metadata = offsets and sentence spans, document = the
  sentences' late-chunking vectors (float16, base64);
- ``<ns>-meta``: settings and the current keyword-snapshot generation;
- ``<ns>-bm25``: the files of each BM25 snapshot, base64 in parts.

Records that are data, not vectors, carry a one-number placeholder embedding (Chroma wants one) and
their documents get no full-text index. The local folder keeps only the lock and a cache of the
downloaded snapshot. This module stores and loads; it does not read corpus files, chunk, embed or rank.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from index.errors import ConfigError, NoIndexError, QAError, ServerUnreachableError, StoreError
from index.store import COLLECTION, SCHEMA_VERSION, SENTENCES, Stats, Store, StoredArticle, StoredChunk, search_deeply
from index.types import Article, Chunk, Span

PLACEHOLDER = [1.0]  # the embedding of a record that is data, not a vector
PART_BYTES = 4 << 20  # a snapshot file is stored in parts of this size
PAGE = 500  # records per request when reading or deleting many
LEASE_S = 600.0  # an indexer that wrote nothing for this long is taken to be dead
IDENTITY_FRESH_S = 1.0  # how long a read of the store's identity stands for the next check
LEASE = "writer"  # the meta record naming the indexer that holds the lease ("" or absent: nobody)


def parse_url(url: str) -> tuple[str, int, bool]:
    """Host, port and TLS of a Chroma server URL.

    >>> parse_url("http://127.0.0.1:8000")
    ('127.0.0.1', 8000, False)
    >>> parse_url("https://chroma.example.org")
    ('chroma.example.org', 443, True)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the Chroma URL must look like http://host:port, got {url!r}")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


class ServerStore(Store):
    """The index in the collections ``<namespace>-*`` of the Chroma server at ``url``."""

    def __init__(self, url: str, folder: Path | str, namespace: str = "qa"):
        super().__init__()
        self.url = url
        self.host, self.port, self.ssl = parse_url(url)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", namespace or ""):
            raise ConfigError(f"the namespace must be letters, digits, '.', '_' or '-' (starting with a letter "
                              f"or digit), got {namespace!r}")
        self.namespace = namespace
        self.folder = Path(folder)
        self.location = f"the Chroma server {url} (namespace {namespace})"
        self._client = None
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()
        self._identity_seen: tuple[object, float] = (None, float("-inf"))
        self._lease: str | None = None  # our record in the meta collection while we index

    # ---- connection and collections ------------------------------------------------------------
    def client(self):
        with self._lock:
            if self._client is None:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                try:
                    client = chromadb.HttpClient(host=self.host, port=self.port, ssl=self.ssl,
                                                 settings=ChromaSettings(anonymized_telemetry=False))
                    client.heartbeat()
                except Exception as err:  # connection refused, DNS, TLS, a proxy's HTML page, ...
                    raise self.unreachable(err) from None
                self._client = _Reachable(client, self.unreachable)
            return self._client

    def unreachable(self, err: Exception) -> ServerUnreachableError:
        """The error for a request the server did not answer (the next request tries it again)."""
        return ServerUnreachableError(
            f"the index server at {self.url} is unreachable ({type(err).__name__}: {err}); start it "
            f"(`chroma run --path <folder> --port {self.port}`) or fix QA_CHROMA_URL, then try again")

    def _name(self, kind: str) -> str:
        return f"{self.namespace}-{kind}"

    def _collection(self, kind: str, create: bool = False):
        handle = self._handles.get(kind)
        if handle is not None:
            return handle
        from chromadb.errors import NotFoundError

        client = self.client()
        try:
            if kind in (COLLECTION, SENTENCES):
                handle = client.get_or_create_collection(
                    self._name(kind), metadata={"hnsw:space": "cosine"}, embedding_function=None
                ) if create else client.get_collection(self._name(kind), embedding_function=None)
                search_deeply(handle, kind)
            elif create:
                from chromadb import FtsIndexConfig, K, Schema

                schema = Schema().delete_index(config=FtsIndexConfig(), key=K.DOCUMENT)
                handle = client.get_or_create_collection(self._name(kind), schema=schema, embedding_function=None)
            else:
                handle = client.get_collection(self._name(kind), embedding_function=None)
        except NotFoundError:
            raise self.no_index_error() from None
        handle = _Reachable(handle, self.unreachable)
        self._handles[kind] = handle
        return handle

    def _open_collection(self, kind: str = COLLECTION):
        return self._collection(kind)

    def _forget_chroma_client(self) -> None:
        super()._forget_chroma_client()
        self._handles.clear()

    def no_index_error(self) -> NoIndexError:
        return NoIndexError(f"no index on {self.location}: run `qa index --chroma-url {self.url}` first")

    def _with(self, kind: str, op: Callable):
        """``op(collection)``, once more on fresh handles if the collection was deleted and made again."""
        from chromadb.errors import NotFoundError

        for attempt in (1, 2):
            try:
                return op(self._collection(kind))
            except NotFoundError:
                self._handles.clear()
                if attempt == 2:
                    raise self.no_index_error() from None

    # ---- catalog -------------------------------------------------------------------------------
    def exists(self) -> bool:
        try:
            return self.meta("schema") is not None
        except NoIndexError:
            return False

    def create(self) -> None:
        for kind in (COLLECTION, SENTENCES, "articles", "sentences", "meta", "bm25"):
            self._collection(kind, create=True)
        schema = self.meta("schema")
        if schema is None:
            self.set_meta(schema=SCHEMA_VERSION, store_id=uuid.uuid4().hex)
        elif schema != SCHEMA_VERSION:
            raise StoreError(f"the index on {self.location} was written by another version (schema {schema}); "
                             "run `qa index --rebuild`")
        if self._lease and not self._holder():  # `--rebuild` deleted the meta collection, our lease with it
            self._with("meta", lambda c: c.add(ids=[LEASE], embeddings=[PLACEHOLDER],
                                               metadatas=[{"value": self._lease}]))

    def identity(self) -> object:
        seen, at = self._identity_seen
        if time.monotonic() - at < IDENTITY_FRESH_S:
            return seen
        try:
            return self.meta("store_id")
        except NoIndexError:
            return None

    def meta(self, key: str) -> str | None:
        """One request, which also notes the store's identity: asking reads the keyword generation
        and then the identity, and a round trip to the server is the cost that counts here."""
        found = self._with("meta", lambda c: c.get(ids=list(dict.fromkeys([key, "store_id"])), include=["metadatas"]))
        values = {i: m["value"] for i, m in zip(found["ids"], found["metadatas"])}
        self._identity_seen = (values.get("store_id"), time.monotonic())
        return values.get(key)

    def set_meta(self, **values: str) -> None:
        keys = list(values)
        self._with("meta", lambda c: c.upsert(ids=keys, embeddings=[PLACEHOLDER] * len(keys),
                                              metadatas=[{"value": str(values[k])} for k in keys]))

    def _pages(self, kind: str, include: list[str], where: dict | None = None) -> Iterator[dict]:
        offset = 0
        while True:
            page = self._with(kind, lambda c: c.get(where=where, include=include, limit=PAGE, offset=offset))
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def article_keys(self) -> dict[str, tuple[str, str]]:
        return {source: (m["key"], m["state"]) for page in self._pages("articles", ["metadatas"])
                for source, m in zip(page["ids"], page["metadatas"])}

    def begin(self, articles: Iterable[tuple[Article, str]]) -> None:
        articles = list(articles)
        if not articles:
            return
        now = time.time()
        self._delete_sentences([a.source for a, _ in articles])
        metadatas = [{k: v for k, v in {"key": key, "state": "pending", "title": a.title, "outlet": a.outlet,
                                        "date": a.date, "indexed_at": now}.items() if v is not None}
                     for a, key in articles]
        self._with("articles", lambda c: c.upsert(
            ids=[a.source for a, _ in articles], documents=[a.text for a, _ in articles],
            metadatas=metadatas, embeddings=[PLACEHOLDER] * len(articles)))

    def finish(self, chunks: Iterable[Chunk], sources: Iterable[str], vectors: dict[str, bytes]) -> None:
        chunks, sources = list(chunks), list(sources)
        if chunks:
            self._with("sentences", lambda c: c.upsert(
                ids=[x.id for x in chunks],
                documents=[base64.b64encode(vectors.get(x.id) or b"").decode("ascii") for x in chunks],
                metadatas=[{"source": x.source, "start": x.start, "end": x.end,
                            "sentences": json.dumps([[s.start, s.end] for s in x.sentences])} for x in chunks],
                embeddings=[PLACEHOLDER] * len(chunks)))
        if sources:
            self._with("articles", lambda c: c.update(ids=sources, metadatas=[{"state": "done"}] * len(sources)))
        self.set_meta(last_indexed=str(time.time()))
        self._refresh_lease()

    def _delete_sentences(self, sources: list[str]) -> None:
        for i in range(0, len(sources), PAGE):
            page = sources[i:i + PAGE]
            self._with("sentences", lambda c: c.delete(where={"source": {"$in": page}}))

    def forget(self, sources: Iterable[str]) -> None:
        sources = list(sources)
        self._delete_sentences(sources)
        for i in range(0, len(sources), PAGE):
            page = sources[i:i + PAGE]
            self._with("articles", lambda c: c.delete(ids=page))

    def _done_articles(self, sources: list[str]) -> dict[str, tuple[str, dict]]:
        found = self._with("articles", lambda c: c.get(ids=sources, include=["metadatas", "documents"]))
        return {s: (text, m) for s, text, m in zip(found["ids"], found["documents"], found["metadatas"])
                if m["state"] == "done"}

    def chunks(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        rows = self._with("sentences", lambda c: c.get(ids=ids, include=["metadatas", "documents"]))
        articles = self._done_articles(list({m["source"] for m in rows["metadatas"]}))
        out = {}
        for cid, m, vectors in zip(rows["ids"], rows["metadatas"], rows["documents"]):
            if m["source"] not in articles:
                continue
            text, a = articles[m["source"]]
            out[cid] = StoredChunk(cid, m["source"], m["start"], m["end"], text[m["start"]:m["end"]],
                                   tuple(Span(s, e) for s, e in json.loads(m["sentences"])), a["title"],
                                   a.get("outlet"), a.get("date"), base64.b64decode(vectors) if vectors else None)
        return out

    def all_chunks(self) -> Iterator[tuple[Chunk, str, str | None]]:
        """In source and offset order, as the local store gives them (so both build the same BM25)."""
        done = sorted(s for page in self._pages("articles", ["metadatas"], where={"state": "done"})
                      for s in page["ids"])
        for i in range(0, len(done), PAGE // 5):
            page = done[i:i + PAGE // 5]
            articles = self._done_articles(page)
            rows = self._with("sentences", lambda c: c.get(where={"source": {"$in": page}}, include=["metadatas"]))
            for cid, m in sorted(zip(rows["ids"], rows["metadatas"]), key=lambda r: (r[1]["source"], r[1]["start"])):
                if m["source"] in articles:
                    text, a = articles[m["source"]]
                    yield Chunk(cid, m["source"], m["start"], m["end"], text[m["start"]:m["end"]]), a["title"], a.get("outlet")

    def article(self, source: str) -> StoredArticle | None:
        found = self._done_articles([source]).get(source)
        if not found:
            return None
        text, m = found
        return StoredArticle(source, text, m["title"], m.get("outlet"), m.get("date"))

    def stats(self) -> Stats:
        # all minus the pending ones (a handful at most): no need to list 50,000 ids
        pending = sum(len(p["ids"]) for p in self._pages("articles", [], where={"state": "pending"}))
        articles = self._with("articles", lambda c: c.count()) - pending
        chunks = self._with("sentences", lambda c: c.count())
        last = self.meta("last_indexed")
        return Stats(articles, chunks, float(last) if last else None, pending)

    def sample_chunk_ids(self, n: int) -> list[str]:
        """A page of the sentences collection at a random offset, less chunks of articles not done."""
        import random

        offset = random.randint(0, max(0, self._with("sentences", lambda c: c.count()) - n))
        rows = self._with("sentences", lambda c: c.get(limit=n, offset=offset, include=["metadatas"]))
        if not rows["ids"]:
            return []
        done = self._done_articles(list({m["source"] for m in rows["metadatas"]}))
        return [cid for cid, m in zip(rows["ids"], rows["metadatas"]) if m["source"] in done]

    def remove(self) -> None:
        from chromadb.errors import NotFoundError

        client = self.client()
        for kind in (COLLECTION, SENTENCES, "articles", "sentences", "meta", "bm25"):
            try:
                client.delete_collection(self._name(kind))
            except NotFoundError:
                pass
        self._forget_chroma_client()
        shutil.rmtree(self._cache_root(), ignore_errors=True)

    # ---- who may write ---------------------------------------------------------------------------
    @staticmethod
    def _writer_record() -> str:
        return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()})

    def _holder(self) -> str | None:
        return self.meta(LEASE)

    def _take_lease(self) -> None:
        """Make this process the holder of the lease, or ``StoreError`` naming the live holder.

        Chroma's ``add`` keeps the first record of an id and ignores later ones, so of two indexers
        that add their record at once exactly one reads its own back: a test-and-set without
        transactions. A lease released (``""``) or left by a dead indexer is deleted only while it is
        still that record (a conditional delete), so two indexers taking over a dead one's lease do
        not delete each other's."""
        mine = self._writer_record()
        for _ in range(3):
            self._with("meta", lambda c: c.delete(ids=[LEASE], where={"value": ""}))
            self._with("meta", lambda c: c.add(ids=[LEASE], embeddings=[PLACEHOLDER], metadatas=[{"value": mine}]))
            holder = self._holder()
            if holder == mine:
                self._lease = mine
                return
            if holder:
                other = json.loads(holder)
                here = other["host"] == socket.gethostname()
                alive = (_pid_alive(other["pid"]) if here else time.time() - other["time"] < LEASE_S)
                if alive and not (here and other["pid"] == os.getpid()):
                    raise StoreError(f"`qa index` on {other['host']} (pid {other['pid']}) is writing to "
                                     f"{self.location}; wait for it to finish")
                self._with("meta", lambda c: c.delete(ids=[LEASE], where={"value": holder}))
        raise StoreError(f"another `qa index` keeps taking the lease on {self.location}; try again")

    def _refresh_lease(self) -> None:
        """Tell indexers elsewhere that this one is still alive (after each batch)."""
        if self._lease and self._holder() == self._lease:
            fresh = self._writer_record()
            self.set_meta(**{LEASE: fresh})
            self._lease = fresh

    @contextmanager
    def writing(self, timeout: float) -> Iterator[None]:
        """The local lock, and a lease in the meta collection that tells indexers on other machines
        that this one is writing (``_take_lease``). It catches the usual mistake (two machines, or two
        store folders, indexing into one namespace at once); it is not a consensus protocol."""
        with super().writing(timeout):
            self.create()
            self._take_lease()
            try:
                yield
            finally:
                lease, self._lease = self._lease, None
                try:
                    self._with("meta", lambda c: c.delete(ids=[LEASE], where={"value": lease}))
                except QAError:
                    pass  # the server went away: the lease runs out by itself

    # ---- BM25 ----------------------------------------------------------------------------------
    def _put_snapshot(self, generation: str, files: Path) -> None:
        for path in sorted(p for p in files.rglob("*") if p.is_file()):
            name, data = path.relative_to(files).as_posix(), path.read_bytes()
            parts = max(1, -(-len(data) // PART_BYTES))
            for i in range(parts):
                piece = base64.b64encode(data[i * PART_BYTES:(i + 1) * PART_BYTES]).decode("ascii")
                self._with("bm25", lambda c: c.upsert(
                    ids=[f"{generation}/{name}/{i:05d}"], documents=[piece], embeddings=[PLACEHOLDER],
                    metadatas=[{"generation": generation, "name": name, "part": i, "parts": parts}]))

    def _cache_root(self) -> Path:
        return self.folder / "cache" / f"{self.host}_{self.port}_{self.namespace}"

    def _snapshot_dir(self, generation: str) -> Path:
        """Downloaded once per generation into the local cache, then read from there."""
        target = self._cache_root() / generation
        if target.is_dir():
            return target
        listing = self._with("bm25", lambda c: c.get(where={"generation": generation}, include=["metadatas"]))
        if not listing["ids"]:
            raise FileNotFoundError(f"no keyword snapshot {generation} on the server")
        self._cache_root().mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._cache_root(), ignore_cleanup_errors=True) as tmp:
            order = sorted(zip(listing["ids"], listing["metadatas"]), key=lambda r: (r[1]["name"], r[1]["part"]))
            for rid, m in order:  # one part per request: parts are large
                piece = self._with("bm25", lambda c: c.get(ids=[rid], include=["documents"]))
                if not piece["ids"]:
                    raise FileNotFoundError(f"keyword snapshot {generation} was replaced while downloading")
                path = Path(tmp) / m["name"]
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as f:
                    f.write(base64.b64decode(piece["documents"][0]))
            try:
                Path(tmp).rename(target)
            except OSError:  # another process here downloaded it first
                pass
        self._drop_cached(keep=generation)
        return target

    def _drop_cached(self, keep: str | None) -> None:
        root = self._cache_root()
        for old in root.iterdir() if root.is_dir() else ():
            if old.name != keep and not old.name.startswith("tmp"):
                shutil.rmtree(old, ignore_errors=True)

    def _drop_snapshots(self, keep: str | None) -> None:
        where = {"generation": {"$ne": keep}} if keep else None
        if where is None:
            ids = [i for page in self._pages("bm25", []) for i in page["ids"]]
            for i in range(0, len(ids), PAGE):
                self._with("bm25", lambda c: c.delete(ids=ids[i:i + PAGE]))
        else:
            self._with("bm25", lambda c: c.delete(where=where))
        self._drop_cached(keep)


class _Reachable:
    """A Chroma client or collection whose transport failures (refused, reset, timed out) raise
    ``unreachable(err)``, a ``ServerUnreachableError``, instead of an httpx error."""

    def __init__(self, target, unreachable: Callable[[Exception], Exception]):
        self._target, self._unreachable = target, unreachable

    def __getattr__(self, name: str):
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            import httpx

            try:
                return attr(*args, **kwargs)
            except httpx.TransportError as err:
                raise self._unreachable(err) from None

        return call


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""Hybrid retrieval: the Chroma collection's nearest chunks and the BM25 index's best, fused by relative score.

Both sides query what indexing stored through llama-index (its ``ChromaVectorStore`` and
``BM25Retriever``) directly, the way those classes query them, so that asking imports neither
llama-index nor torch: the query is embedded by the ONNX export of the same model
(``index.encoder``). The fusion is done here rather than by ``QueryFusionRetriever`` so that each hit
keeps its dense and keyword ranks (the answerer uses their agreement as evidence).
Every hit is checked against the catalog, so a chunk being written or already removed by a running
``qa index`` is never returned. llama-index and Chroma types stay inside this module. It does not
pick sentences or decide whether to answer.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from index.embed import default_model_path
from index.encoder import query_encoder
from index.store import SENTENCES, Store, StoredChunk
from qa.errors import BadQuestionError, NoIndexError, StoreError
from qa.spelling import fold_counts, other_spellings

# Relative-score fusion (what llama-index's QueryFusionRetriever calls "relative_score"), sides weighted
# equally. Measured on evals/qa.jsonl against reciprocal rank fusion (k=60): hit@1 0.607 -> 0.705,
# MRR 0.723 -> 0.798, same answer accuracy. RRF (Cormack et al. 2009) buried a name found only by
# BM25 ("Matthew Miller") under chunks both sides ranked middling; scaled scores keep a clear keyword
# winner on top.
FUSION_WEIGHTS = (0.5, 0.5)
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # llama-index's BM25Retriever default, which built the index
# With a date range, each side looks this many times deeper, since chunks of other dates are dropped
DATED_DEPTH = 10
_date_range: ContextVar[tuple[str | None, str | None] | None] = ContextVar("qa_date_range", default=None)


def in_range(published: str | None, since: str | None, until: str | None) -> bool:
    """Whether an article published on ``published`` (ISO ``YYYY-MM-DD``, or only ``YYYY``) falls in
    [``since``, ``until``] (ISO dates, either open). An article with no stated date is in no range;
    one dated by its year alone is in a range its year overlaps.

    >>> in_range("2023-10-11", "2023-10-01", None), in_range("2023-10-11", None, "2023-10-10")
    (True, False)
    >>> in_range("2024", "2024-03-01", "2024-03-31"), in_range(None, None, "2030-01-01")
    (True, False)
    """
    if not published:
        return False
    first, last = (published, published) if len(published) >= 10 else (f"{published}-01-01", f"{published}-12-31")
    return (since is None or last[:10] >= since) and (until is None or first[:10] <= until)


def check_dates(since: object, until: object) -> tuple[str | None, str | None]:
    """``since`` and ``until`` as ISO dates (None stays None), or ``BadQuestionError`` saying why.

    >>> check_dates("2023-10-01", None)
    ('2023-10-01', None)
    >>> check_dates("last week", None)
    Traceback (most recent call last):
    qa.errors.BadQuestionError: since must be a date as YYYY-MM-DD, not 'last week'
    """
    from datetime import date

    out = []
    for name, value in (("since", since), ("until", until)):
        if value in (None, ""):
            out.append(None)
            continue
        try:
            out.append(date.fromisoformat(str(value).strip()).isoformat())
        except ValueError:
            raise BadQuestionError(f"{name} must be a date as YYYY-MM-DD, not {str(value)[:40]!r}") from None
    if out[0] and out[1] and out[0] > out[1]:
        raise BadQuestionError(f"since ({out[0]}) is after until ({out[1]})")
    return out[0], out[1]


def within_dates(chunks: dict[str, StoredChunk]) -> dict[str, StoredChunk]:
    """``chunks`` (id -> chunk) of articles published in the range a surrounding ``dated()`` block
    set; all of them outside one. Every way of finding chunks (passages, sentences) goes through it."""
    dates = _date_range.get()
    if not dates:
        return chunks
    return {cid: c for cid, c in chunks.items() if in_range(c.date, *dates)}


def range_words(since: str | None, until: str | None) -> str:
    """A date range in words, for messages.

    >>> range_words("2023-11-01", "2023-12-31"), range_words(None, "2023-12-31"), range_words("2023-11-01", None)
    ('between 2023-11-01 and 2023-12-31', 'on or before 2023-12-31', 'on or after 2023-11-01')
    """
    if since and until:
        return f"between {since} and {until}"
    return f"on or before {until}" if until else f"on or after {since}"


def out_of_range_text() -> str | None:
    """Why nothing was found when a surrounding ``dated()`` block set a range (None outside one)."""
    dates = _date_range.get()
    if not dates:
        return None
    return (f"No article published {range_words(*dates)} matches this question (an article with no stated "
            "publication date is in no date range).")


def _depth() -> int:
    """How many times deeper a search looks: ``DATED_DEPTH`` within a date range, which drops chunks."""
    return DATED_DEPTH if _date_range.get() else 1


@contextmanager
def dated(since: str | None, until: str | None) -> Iterator[None]:
    """Within this block (in this thread), searches only return chunks of articles published between
    ``since`` and ``until`` (see ``in_range``); with neither, it changes nothing."""
    since, until = check_dates(since, until)
    token = _date_range.set((since, until) if since or until else None)
    try:
        yield
    finally:
        _date_range.reset(token)


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float  # fused
    dense_rank: int | None  # 1-based, None when the side did not return it
    keyword_rank: int | None
    dense: float | None = None  # cosine of the query with the chunk, when the dense side returned it


@dataclass(frozen=True)
class SentenceHit:
    """A sentence found by its own vector: the chunk it was stored with, where it starts, its cosine."""

    chunk: StoredChunk
    start: int
    cosine: float


@dataclass(frozen=True)
class Vocabulary:
    """Document frequencies of the BM25 index's terms (stemmed, stopwords removed)."""

    df: dict[str, int]
    documents: int

    def idf(self, term: str) -> float:
        """BM25's idf. A term the corpus never uses weighs as much as the rarest one it does use, not
        more: it cannot match anywhere, and weighting it above every real word made a question put in
        other words look like one the articles do not answer."""
        n = self.df.get(term, 1)
        return math.log(1 + (self.documents - n + 0.5) / (n + 0.5))

    def knows(self, term: str) -> bool:
        """Whether some chunk of the corpus uses ``term``."""
        return term in self.df


def relative_score_fusion(scores: Sequence[dict[str, float]], weights: Sequence[float]) -> dict[str, float]:
    """Fused scores: each side's scores min-max scaled to [0, 1], then summed with ``weights``.

    >>> relative_score_fusion([{"a": 0.9, "b": 0.5}, {"b": 7.0, "c": 1.0}], [0.5, 0.5])
    {'a': 0.5, 'b': 0.5, 'c': 0.0}
    """
    fused: dict[str, float] = {}
    for side, weight in zip(scores, weights):
        if not side:
            continue
        low, high = min(side.values()), max(side.values())
        for item, value in side.items():
            scaled = (value - low) / (high - low) if high > low else 1.0
            fused[item] = fused.get(item, 0.0) + weight * scaled
    return fused


class Retriever:
    """Loads the model and both indexes once, lazily; safe to share between threads."""

    def __init__(self, store: Store, model_path: str | None, candidates: int):
        self.store = store
        self.model_path = model_path
        self.candidates = candidates
        self._lock = threading.Lock()
        self._embedder = None
        self._dense = None
        self._keyword = None
        self._generation: str | None = None
        self.vocabulary: Vocabulary | None = None

    def _ready(self):
        generation = self.store.meta("bm25_generation")  # also raises NoIndexError without a catalog
        if not generation:
            raise NoIndexError(f"the index in {self.store.location} is empty: add articles and run `qa index`")
        with self._lock:
            if self._embedder is None:
                model = self.model_path or self.store.meta("embed_model") or default_model_path()
                self._embedder = query_encoder(self.store.folder, model)
            self._dense = self.store.collection()  # reopened when the store was rebuilt meanwhile
            if generation != self._generation:
                try:
                    self._load_keyword(generation)
                except StoreError:
                    # a running `qa index` may have switched generations between our read and our load
                    newer = self.store.meta("bm25_generation")
                    if not newer or newer == generation:
                        raise
                    self._load_keyword(newer)
            return self._embedder, self._dense, self._keyword

    def _load_keyword(self, generation: str) -> None:
        bm25 = self.store.load_bm25(generation)
        documents = int(bm25.scores["num_docs"])
        import numpy as np
        import Stemmer

        # bm25s keeps one sparse column per term; its length is the term's document frequency
        scores = bm25.scores
        counts = np.diff(np.append(scores["indptr"], len(scores["data"])))
        df = {term: int(counts[i]) for term, i in bm25.vocab_dict.items()}
        stemmer = Stemmer.Stemmer("english")
        self._keyword, self._generation = (bm25, stemmer, min(self.candidates, documents)), generation
        # the answerer's stems are taken from one spelling (qa.spelling); the index keeps the articles' own
        self.vocabulary = Vocabulary(fold_counts(df, stemmer.stemWords), documents)

    def embed_query(self, text: str) -> list[float]:
        """The query vector; loads the model on first use (``search`` checks the store's freshness)."""
        embedder = self._embedder or self._ready()[0]
        return embedder.get_query_embedding(text)

    def embed_model(self):
        """The loaded query encoder (``index.encoder.OnnxEncoder``: ``get_query_embedding``,
        ``get_text_embedding_batch``), for the word vectors and benchmarks that need the very same one."""
        return self._ready()[0]

    def search(self, query: str, k: int, embedding: list[float] | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query``, fused from the dense and keyword sides."""
        embedder, dense, keyword = self._ready()
        depth = _depth()
        dense_scores = _nearest(dense, embedding or embedder.get_query_embedding(query), self.candidates * depth)
        keyword_scores = {cid: score for cid, score in _best_keyword(keyword, query, depth) if score > 0}
        dense_rank = {cid: rank for rank, cid in enumerate(dense_scores, 1)}
        keyword_rank = {cid: rank for rank, cid in enumerate(keyword_scores, 1)}
        fused = relative_score_fusion([dense_scores, keyword_scores], FUSION_WEIGHTS)
        ranked = sorted(fused, key=fused.get, reverse=True)[: k * 2 * depth]
        chunks = self.store.chunks(ranked)  # only chunks of articles the catalog says are complete
        chunks = within_dates(chunks)
        hits = [Hit(chunks[cid], fused[cid], dense_rank.get(cid), keyword_rank.get(cid), dense_scores.get(cid))
                for cid in ranked if cid in chunks]
        return hits[:k]

    def sentences(self, embedding: list[float], n: int) -> list["SentenceHit"]:
        """The ``n`` sentences of the corpus nearest the query vector, best first: a passage of many
        sentences on one topic can rank low although one of its sentences answers. Chunks not (or no
        longer) in the catalog are left out, as ``search`` leaves them out."""
        self._ready()
        if n < 1:
            return []
        depth = _depth()
        result = self.store.collection(SENTENCES).query(query_embeddings=[embedding], n_results=n * depth,
                                                        include=["metadatas", "distances"])
        # a record being rewritten by a running `qa index` can come back without its metadata: skip it
        found = [(m["chunk"], int(m["start"]), 1.0 - d)
                 for m, d in zip(result["metadatas"][0], result["distances"][0]) if m]
        chunks = within_dates(self.store.chunks(c for c, _, _ in found))
        return [SentenceHit(chunks[c], start, cosine) for c, start, cosine in found if c in chunks][:n]

    def dense_only(self, query: str, k: int) -> list[StoredChunk]:
        """The plain vector retrieval a tutorial would do (top ``k`` by cosine): the eval baseline."""
        embedder, dense, _ = self._ready()
        ids = list(_nearest(dense, embedder.get_query_embedding(query), self.candidates))[:k]
        chunks = self.store.chunks(ids)
        return [chunks[cid] for cid in ids if cid in chunks]


def _nearest(collection, embedding: list[float], n: int) -> dict[str, float]:
    """Chunk id -> cosine for the ``n`` nearest chunks, best first, as llama-index's ``ChromaVectorStore``
    queries them (it reports exp(-distance); the cosine is 1 - distance in a cosine-space collection)."""
    result = collection.query(query_embeddings=[embedding], n_results=n, include=["distances"])
    # the same float path as before: 1 + log(exp(-d)), so scores and ties are unchanged to the last bit
    return {cid: 1 + math.log(max(math.exp(-d), 1e-9)) for cid, d in zip(result["ids"][0], result["distances"][0])}


def _best_keyword(keyword, query: str, depth: int = 1) -> list[tuple[str, float]]:
    """(chunk id, BM25 score), best first, as llama-index's ``BM25Retriever`` retrieves them."""
    import bm25s

    bm25, stemmer, k = keyword
    k = min(k * depth, int(bm25.scores["num_docs"]))
    query = " ".join([query, *other_spellings(query)])  # "defence" finds the articles that write "defense"
    tokens = bm25s.tokenize(query, stemmer=stemmer, token_pattern=TOKEN_PATTERN, show_progress=False)
    documents, scores = bm25.retrieve(tokens, k=k, show_progress=False)
    return [(doc["node_id"], float(score)) for doc, score in zip(documents[0], scores[0])]

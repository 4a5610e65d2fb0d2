"""Answer a question from the index with cited sentences, or abstain; ``ask()`` is the public entry.

An ``Engine`` holds the loaded model and indexes for one ``Settings`` and is reused across calls and
threads. It composes retrieval (``qa.retrieve``), follow-up context (``qa.followup``) and sentence
scoring (``qa.evidence``) and turns their results into the frozen ``Answer``; it writes nothing.
"""
from __future__ import annotations

import re
import threading
import unicodedata

import numpy as np

from index.store import Stats, StoredArticle, open_store
from index.types import Span
from qa.errors import BadQuestionError
from qa.evidence import Candidate, answer_type, confidence, group_answer, score_sentences, weighted_terms
from qa.followup import context_for, validate_history
from qa.retrieve import Hit, Retriever
from qa.settings import Settings
from qa.types import Answer, Citation, Passage

ABSTAIN_TEXT = "The articles do not answer this question."
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_question(question: object, max_chars: int) -> str:
    """The question as searched, or ``BadQuestionError``: trimmed, control characters made spaces.

    >>> clean_question("  Who is\\x00Kirby? ", 100)
    'Who is Kirby?'
    """
    if not isinstance(question, str):
        raise BadQuestionError("the question must be text")
    question = unicodedata.normalize("NFC", _CONTROL.sub(" ", question)).strip()
    if not question:
        raise BadQuestionError("the question is empty: type a question about the articles")
    if len(question) > max_chars:
        raise BadQuestionError(f"the question is {len(question)} characters long; the limit is {max_chars}")
    return re.sub(r"[ \t]+", " ", question)


class Engine:
    """Answers questions for one ``Settings``; loads the model and indexes on first use, once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = open_store(settings.store, settings.chroma_url, settings.namespace)
        self.retriever = Retriever(self.store, settings.embed_model, settings.candidates)

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        s = self.settings
        question = clean_question(question, s.max_question_chars)
        history = validate_history(history, s.max_history_messages)
        context = context_for(question, history)
        query = f"{question} {context}".strip()
        embedding = self.retriever.embed_query(query)
        hits = self.retriever.search(query, max(s.top_k, s.evidence_passages, s.support_passages), embedding)
        passages = tuple(_passage(h) for h in hits[: s.top_k])
        vocabulary = self.retriever.vocabulary
        weights = weighted_terms(question, context, vocabulary.idf)
        candidates, places = _candidates(hits[: s.support_passages], embedding, s.evidence_passages)
        scored = score_sentences(question, weights, candidates)
        leads = [x for x in scored if x.candidate.lead]
        if not weights or not leads:
            return Answer(question, ABSTAIN_TEXT, True, (), passages, 0.0, query)
        sure = confidence(leads[0], answer_type(question))
        if sure < s.min_confidence:
            return Answer(question, ABSTAIN_TEXT, True, (), passages, sure, query)
        citations, lines = [], []
        for line in group_answer(scored, s.max_citation_lines):
            markers = []
            for item in line:
                c = item.candidate
                hit, span = places[c.key]
                citations.append(Citation(
                    number=len(citations) + 1, source=c.source, title=hit.chunk.title, quote=c.text,
                    start=span.start, end=span.end, score=round(item.score, 4), outlet=hit.chunk.outlet,
                    passage_start=hit.chunk.start, passage_end=hit.chunk.end,
                ))
                markers.append(f"[{len(citations)}]")
            lines.append(f"{line[0].candidate.text} {' '.join(markers)}")
        return Answer(question, "\n".join(lines), False, tuple(citations), passages, sure, query)


def _passage(hit: Hit) -> Passage:
    c = hit.chunk
    return Passage(c.source, c.title, c.text, c.start, c.end, round(hit.score, 6), c.outlet, c.id)


def _sentence_similarities(chunk, query: "np.ndarray") -> list[float]:
    """Cosine of the query with each sentence's late-chunking vector (0 where there is none)."""
    if not chunk.vectors:
        return [0.0] * len(chunk.sentences)
    rows = np.frombuffer(chunk.vectors, dtype=np.float16).reshape(len(chunk.sentences), -1).astype(np.float32)
    return np.nan_to_num(rows @ query, nan=0.0).tolist()


def _candidates(hits: list[Hit], embedding: list[float], leads: int) -> tuple[list[Candidate], list[tuple[Hit, Span]]]:
    """The sentences of the hits, each once (overlapping chunks share sentences); those of the first
    ``leads`` hits may answer, the others only support. A candidate's key is its index in the second
    list, which says where the sentence is."""
    out: list[Candidate] = []
    places: list[tuple[Hit, Span]] = []
    if not hits:
        return out, places
    query = np.asarray(embedding, dtype=np.float32)
    top = hits[0].score or 1.0
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        similarities = _sentence_similarities(chunk, query)
        for j, span in enumerate(chunk.sentences):
            if (chunk.source, span.start) in seen:
                continue
            seen.add((chunk.source, span.start))
            text = chunk.text[span.start - chunk.start: span.end - chunk.start]
            places.append((hit, span))
            out.append(Candidate(
                key=len(out), source=chunk.source, text=text,
                passage_text=f"{chunk.title}\n{chunk.outlet or ''}\n{chunk.text}",
                retrieval=hit.score / top, agree=hit.dense_rank is not None and hit.keyword_rank is not None,
                dense=similarities[j], lead=rank < leads,
            ))
    return out, places


_engines: dict[Settings, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The shared engine for ``settings`` (one per distinct settings, per process)."""
    with _engines_lock:
        if settings not in _engines:
            _engines[settings] = Engine(settings)
        return _engines[settings]


def article(source: str, **overrides) -> StoredArticle | None:
    """The indexed text and metadata of one article (what citation offsets point into), or None."""
    return engine_for(Settings.from_env(**overrides)).store.article(source)


def corpus_stats(**overrides) -> Stats:
    """How many articles and chunks are indexed, and when the last one was."""
    return engine_for(Settings.from_env(**overrides)).store.stats()


def ask(question: str, history: list[dict] | None = None, **overrides) -> Answer:
    """Answer ``question`` from the indexed articles, with cited sentences, or abstain.

    ``history`` is the chat so far as {"role", "content"} dicts; ``overrides`` are ``Settings`` fields
    (``store=``, ``top_k=``, ``min_confidence=`` ...) on top of the ``QA_*`` environment.
    Raises ``BadQuestionError`` for an empty or over-long question, ``NoIndexError`` without an index.
    """
    return engine_for(Settings.from_env(**overrides)).ask(question, history)

"""Answer a question from the index with cited sentences, or abstain; ``ask()`` is the public entry.

An ``Engine`` holds the loaded model and indexes for one ``Settings`` and is reused across calls and
threads. It composes retrieval (``qa.retrieve``), follow-up context (``qa.followup``), the signals of
each candidate sentence (``qa.signals``, with word vectors from ``qa.words``) and the fitted selector
(``qa.selector``), and turns their results into the frozen ``Answer``; it writes nothing.
"""
from __future__ import annotations

import contextvars
import re
import textwrap
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from index.store import Stats, StoredArticle, open_store, sentence_rows
from index.types import Span
from qa.errors import BadQuestionError
from qa.evidence import answer_type, focus, short_span, stem_words, stopwords
from qa.followup import context_for, validate_history
from qa.language import foreign_language, refusal
from qa.retrieve import Hit, Retriever, dated, out_of_range_text
from qa.selector import UNSURE_BELOW, Ranked, choose_lines, confidence, load_selector, rank, without_repeats
from qa.settings import Settings
from qa.signals import (add_gaps, already_given, best_matches, best_per_text, content_words, local_terms, presence,
                        question_terms, signal_table, stems, weighted_shares)
from qa.spelling import MIN_LETTERS, corrected
from qa.types import Answer, Citation, Passage, ShortAnswer
from qa.words import WordVectors

ABSTAIN_TEXT = "The articles do not answer this question."
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def source_line(citation: Citation, date: str | None = None) -> str:
    """A citation as the numbered source line printed under an answer (``qa ask``, ``/v1``).

    >>> source_line(Citation(1, "a.txt", "Talks", "He left.", 10, 18, 0.9, "AP"), "2024-01-09")
    '[1] Talks (AP, 2024-01-09) — a.txt, characters 10-18'
    """
    where = ", ".join(x for x in (citation.outlet, date) if x)
    return (f"[{citation.number}] {citation.title}{f' ({where})' if where else ''} — "
            f"{_span(citation.source, citation.start, citation.end)}")


def _span(source: str, start: int, end: int) -> str:
    """Where a quoted text is, as the printed lines give it: its file and characters."""
    return f"{source}, characters {start}-{end}"


def passage_line(passage: Passage, width: int = 100) -> str:
    """A closest passage as listed under a refusal: where it is, and how it opens (two passages of one
    article are told apart).

    >>> passage_line(Passage("a.txt", "Talks", "Blinken left Israel on Friday for Cairo.", 40, 81, 0.5), 20)
    '- Talks — a.txt, characters 40-81: “Blinken left Israel…”'
    """
    opening = textwrap.shorten(passage.text, width, placeholder="…")
    return f"- {passage.title} — {_span(passage.source, passage.start, passage.end)}: “{opening}”"


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


@dataclass(frozen=True)
class Gathered:
    """What an answer is chosen from: the hits, and their sentences as unscored candidates with signals."""

    question: str
    query: str
    hits: list[Hit]
    candidates: list[Ranked]  # p is 0 here: ``qa.selector.rank`` scores them
    places: list[tuple[Hit, Span]]  # a candidate's key indexes this: where its sentence is
    history: list[dict]
    read_as: str = ""  # the question spelt right, when a misspelt word of it was read as another


_beside = ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-sentences")  # threads start on first use


class Engine:
    """Answers questions for one ``Settings``; loads the model and indexes on first use, once."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = open_store(settings.store, settings.chroma_url, settings.namespace)
        self.retriever = Retriever(self.store, settings.embed_model, settings.candidates)
        self.words = WordVectors(lambda words: self.retriever.embed_model().get_text_embedding_batch(words))

    @property
    def selector(self) -> dict:
        return load_selector(str(self.settings.selector) if self.settings.selector else None)

    @property
    def min_confidence(self) -> float:
        """The abstention threshold: the setting, or the one fitted with the selector."""
        given = self.settings.min_confidence
        return self.selector["threshold"] if given is None else given

    def gather(self, question: str, history: list[dict] | None = None) -> Gathered:
        """Retrieve for ``question`` (and what a follow-up leans on) and compute every candidate's signals;
        when a word of the question is misspelt and the passages found hold the word, once more for the
        question spelt right (``qa.spelling.corrected``; ``query`` then says what was searched)."""
        s = self.settings
        question = clean_question(question, s.max_question_chars)
        history = validate_history(history, s.max_history_messages)
        found = self._gather(question, history)
        misspelt = self._misspelt(question)
        if misspelt and not foreign_language(question):  # a French word is not a misspelt English one
            words = (w for c in found.candidates for w in content_words(c.text))
            right = corrected(question, misspelt, words)
            if right:
                again = self._gather(right, history)
                return replace(again, question=question, read_as=right)
        return found

    def _misspelt(self, question: str) -> list[str]:
        """Words of ``question`` the corpus never uses and the model does not know whole: maybe misspelt."""
        # "wasnt", "didnt": a stopword typed without its apostrophe, not a misspelling
        words = [w for w in content_words(question)
                 if len(w) >= MIN_LETTERS and w.isalpha() and w[:-1] not in stopwords()]
        unknown = [w for w, stem in zip(words, stem_words(words)) if not self.retriever.vocabulary.knows(stem)]
        if not unknown:  # most questions: no need to reach for the model (embed_model checks the store)
            return []
        encoder = self.retriever.embed_model()
        return [w for w in unknown if not encoder.whole_word(w)]

    def _gather(self, question: str, history: list[dict]) -> Gathered:
        s = self.settings
        context = context_for(question, history)
        query = f"{question} {context}".strip()
        embedding = self.retriever.embed_query(query)
        # the sentence search runs beside the passage search: both wait mostly on Chroma and SQLite, outside
        # the GIL (about 1.5 of the 4.5 ms they take one after the other); copy_context carries a date range
        nearest_sentences = _beside.submit(contextvars.copy_context().run, self.retriever.sentences, embedding,
                                           s.sentence_hits)
        hits = self.retriever.search(query, max(s.top_k, s.evidence_passages, s.support_passages), embedding)
        found = nearest_sentences.result()
        # the passages of the sentences nearest the question compete to answer too, wherever their
        # passage ranked: a passage on many things can rank low although one sentence answers
        searched = hits[: s.support_passages]
        have = {h.chunk.id for h in searched}
        extra = []
        for f in found:
            if f.chunk.id not in have:
                have.add(f.chunk.id)
                extra.append(Hit(f.chunk, 0.0, None, None))
        leads = {h.chunk.id for h in hits[: s.evidence_passages]} | {f.chunk.id for f in found}
        nearest: dict[tuple[str, int], int] = {}
        for position, f in enumerate(found):
            nearest.setdefault((f.chunk.source, f.start), position)
        candidates, places = self._candidates(question, context, embedding, searched + extra, leads, nearest)
        return Gathered(question, query, hits, candidates, places, history)

    def ask(self, question: str, history: list[dict] | None = None) -> Answer:
        found = self.gather(question, history)
        answer = self.extractive(found)
        if self.settings.llm_url:  # bring your own LLM: its answer checked sentence by sentence, else this one
            from qa.compose import generated
            answer = generated(self.settings, found, answer, self.selector["ranker"])
        return answer

    def extractive(self, found: Gathered) -> Answer:
        """The answer made of the candidates' own sentences, or a refusal."""
        s = self.settings
        selector = self.selector
        passages = tuple(passage(h) for h in found.hits[: s.top_k])
        given = already_given([c.text for c in found.candidates], found.history)
        repeated = {c.key for c, g in zip(found.candidates, given) if g}
        ranked = without_repeats(rank(found.candidates, selector["ranker"]), repeated)
        asked = found.read_as or found.question
        kind = answer_type(asked)
        sure = confidence(ranked, selector, kind)
        if not ranked or sure < self.min_confidence:
            language = foreign_language(found.question)  # a refusal says why when the question is not English
            why = refusal(language) if language else (not found.hits and out_of_range_text()) or ABSTAIN_TEXT
            return Answer(found.question, why, True, (), passages, sure, found.query, read_as=found.read_as)
        citations, lines = [], []
        for line in choose_lines(ranked, selector["line_ratio"], selector["support_ratio"], s.max_citation_lines, kind,
                                 selector.get("version_ratio")):
            markers = []
            for item in line:
                hit, span = found.places[item.key]
                citations.append(Citation(
                    number=len(citations) + 1, source=item.source, title=hit.chunk.title, quote=item.text,
                    start=span.start, end=span.end, score=round(item.p, 4), outlet=hit.chunk.outlet,
                    passage_start=hit.chunk.start, passage_end=hit.chunk.end, date=hit.chunk.date,
                ))
                markers.append(f"[{len(citations)}]")
            lines.append(f"{line[0].text} {' '.join(markers)}")
        return Answer(found.question, "\n".join(lines), False, tuple(citations), passages, sure, found.query,
                      _short(kind, citations[0], asked), unsure=sure < UNSURE_BELOW, read_as=found.read_as)

    def _candidates(self, question: str, context: str, embedding: list[float], hits: list[Hit], leads: set[str],
                    nearest: dict[tuple[str, int], int]) -> tuple[list[Ranked], list[tuple[Hit, Span]]]:
        """The sentences of the hits, each once (overlapping chunks share sentences), with their signals;
        those of the ``leads`` chunks may answer, the others only support. ``nearest`` is the rank of the
        sentences found by their own vectors (``Retriever.sentences``)."""
        vocabulary = self.retriever.vocabulary
        terms = question_terms(question, context, vocabulary.idf)
        if not hits or not terms:
            return [], []
        query = np.asarray(embedding, dtype=np.float32)
        sentences = []  # (rank, hit, span, text, in-context cosine, text with its neighbours)
        seen: set[tuple[str, int]] = set()
        per_chunk = _sentence_similarities([h.chunk for h in hits], query)
        for position, (hit, similarities) in enumerate(zip(hits, per_chunk)):
            chunk = hit.chunk
            texts = [chunk.text[span.start - chunk.start: span.end - chunk.start] for span in chunk.sentences]
            for j, span in enumerate(chunk.sentences):
                if (chunk.source, span.start) not in seen:
                    seen.add((chunk.source, span.start))
                    sentences.append((position, hit, span, texts[j], similarities[j], " ".join(texts[max(0, j - 1): j + 2])))
        if not sentences:
            return [], []
        words = {t.word for t in terms} | {w for *_, near in sentences for w in content_words(near)}
        vectors = self.words.vectors([w for w in words if not w[0].isdigit()])
        dim = len(query)
        row_of = {w: i for i, w in enumerate(vectors)}
        stacked = np.array(list(vectors.values()), dtype=np.float32).reshape(len(vectors), dim)
        term_vectors = np.array([vectors.get(t.word, np.zeros(dim, dtype=np.float32)) for t in terms])
        cosines = term_vectors @ stacked.T  # every term with every word of the candidates, in one product
        kind = answer_type(question)
        top = hits[0].score or 1.0
        floor = min((h.dense for h in hits if h.dense is not None), default=0.0)
        ranks, found, spans, texts, in_context, nears = (list(column) for column in zip(*sentences))
        both = texts + nears  # each sentence alone, then with its neighbours
        columns = [[row_of[w] for w in content_words(text) if w in row_of] for text in both]
        text_stems = [stems(text) for text in both]
        matches = best_matches(terms, text_stems, best_per_text(cosines, columns))
        own, around = matches[:len(texts)], matches[len(texts):]
        rows = signal_table(
            terms, own, around, dense=in_context, passage_dense=[floor if h.dense is None else h.dense for h in found],
            lexical=weighted_shares(presence(terms, text_stems[:len(texts)]), terms),
            kind=kind, sentences=texts, question=question, focus_stems=stems(" ".join(focus(question))),
            retrieval=[h.score / top for h in found], passage_rank=ranks,
            both_sides=[h.dense_rank is not None and h.keyword_rank is not None for h in found],
            known=[vocabulary.knows(t.stem) for t in terms],
            local=local_terms(terms, [stems(h.chunk.text) for h in hits]),
            sentence_rank=[nearest.get((h.chunk.source, span.start)) for h, span in zip(found, spans)])
        candidates = [Ranked(i, hit.chunk.source, text, tuple(row), lead=hit.chunk.id in leads)
                      for i, (hit, text, row) in enumerate(zip(found, texts, add_gaps(rows)))]
        return candidates, list(zip(found, spans))


def _short(kind: str | None, cited: Citation, question: str) -> ShortAnswer | None:
    """The short answer inside the first cited sentence, nearest the words of the question."""
    span = short_span(kind, cited.quote, question, stems(question))
    if span is None:
        return None
    return ShortAnswer(cited.quote[span[0]: span[1]], cited.source, cited.start + span[0], cited.start + span[1])


def passage(hit: Hit) -> Passage:
    """A retrieval hit as the ``Passage`` returned with answers and searches."""
    c = hit.chunk
    return Passage(c.source, c.title, c.text, c.start, c.end, round(hit.score, 6), c.outlet, c.id)


def _sentence_similarities(chunks: list, query: "np.ndarray") -> list[list[float]]:
    """Cosine of the query with each sentence's late-chunking vector, chunk by chunk (0 where a chunk has
    none), from one product for all the chunks."""
    rows = [sentence_rows(chunk) for chunk in chunks]
    stacked = [r for r in rows if r is not None]
    cosines = np.nan_to_num(np.concatenate(stacked).astype(np.float32) @ query, nan=0.0).tolist() if stacked else []
    out, at = [], 0
    for chunk, r in zip(chunks, rows):
        if r is None:
            out.append([0.0] * len(chunk.sentences))
        else:
            out.append(cosines[at: at + len(r)])
            at += len(r)
    return out


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


def ask(question: str, history: list[dict] | None = None, since: str | None = None, until: str | None = None,
        **overrides) -> Answer:
    """Answer ``question`` from the indexed articles, with cited sentences, or abstain.

    ``history`` is the chat so far as {"role", "content"} dicts; ``since``/``until`` (ISO dates, either
    may be None) answer from articles published in that range only (``qa.retrieve.in_range``);
    ``overrides`` are ``Settings`` fields (``store=``, ``top_k=``, ``min_confidence=`` ...) on top of
    the ``QA_*`` environment. Raises ``BadQuestionError`` for an empty or over-long question or a bad
    date, ``NoIndexError`` without an index.
    """
    with dated(since, until):
        return engine_for(Settings.from_env(**overrides)).ask(question, history)

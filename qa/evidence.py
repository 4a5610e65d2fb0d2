"""Score the sentences of retrieved passages as answers to a question; pure functions, no I/O, no model.

A sentence scores by how much of the question's information it covers (terms weighted by their idf in
the corpus, so "Kirby" counts far more than "said"), by whether it holds the kind of answer asked for
(a number for "how many", a name for "who", a day for "when"), and by how well its passage was
retrieved. The same features give the confidence used to abstain. Tokens are those of the BM25 index
(lowercased, stopwords dropped, Snowball-stemmed), so idf comes straight from it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
                 "fifty hundred hundreds thousand thousands million millions billion dozen dozens scores").split()
_NUMBER = re.compile(r"\d|\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_TIME = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|"
                   r"june|july|august|september|october|november|december|yesterday|today|week|month|year|night|"
                   r"morning|evening|days?|\d{4})\b", re.IGNORECASE)
_PERSON = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b|\b(spokesman|spokeswoman|minister|"
                     r"president|secretary|chief|leader|commander|prime)\b")
_FIGURE = re.compile(r"\b\d[\d,.]*\d\b")  # a figure of two digits or more: 23,000 / 1,200 / 130
_PLACE = re.compile(r"\b(in|at|to|from|for|near)\s+(the\s+)?[A-Z][a-z]+")
ANSWER_TYPES = {
    "number": (re.compile(r"\b(how (many|much|old)|what number|death toll|what (is|was) the (toll|number))\b", re.I), _NUMBER),
    "time": (re.compile(r"\b(when|what (day|date|time|year)|which (day|date|year)|how long)\b", re.I), _TIME),
    "person": (re.compile(r"\b(who|whom|whose|which (\w+ )?(leader|president|minister|official|spokesman))\b", re.I), _PERSON),
    "place": (re.compile(r"\b(where|which (city|country|countries|town|towns|place))\b", re.I), _PLACE),
}

# Weights of the sentence score. Set by hand, then kept because each one raised answer accuracy on
# evals/qa.jsonl: coverage dominates, type and retrieval break ties; the in-context sentence cosine
# (W_DENSE) took answer accuracy from 0.738 to 0.787 without abstention (1.0 did no better than 0.5).
W_COVERAGE, W_TYPE, W_RETRIEVAL, W_PASSAGE, W_DENSE = 1.0, 0.25, 0.2, 0.3, 0.5
NEAR_DUPLICATE = 0.5  # share of content terms two sentences must share to be "the same fact"
MIN_SECOND_LINE = 0.85  # a further answer line must score this share of the best one


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    """NLTK's English stopwords (shipped inside llama-index-core) and bm25s's: the index keeps some of
    NLTK's ("has", "he"), which are no evidence of an answer."""
    from bm25s.stopwords import STOPWORDS_EN
    from llama_index.core.utils import globals_helper

    return frozenset(STOPWORDS_EN) | frozenset(globals_helper.stopwords)


@lru_cache(maxsize=65536)
def terms(text: str) -> tuple[str, ...]:
    """Content terms of ``text`` as the BM25 index has them.

    >>> terms("The death toll has surpassed 23,000 people")
    ('death', 'toll', 'surpass', '23', '000', 'peopl')
    """
    words = [w for w in _TOKEN.findall(text.lower()) if w not in _stopwords()]
    return tuple(_stemmer().stemWords(words))


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for, if it asks for one we can recognise.

    >>> answer_type("How many hostages remain?"), answer_type("Who is John Kirby?"), answer_type("Why?")
    ('number', 'person', None)
    """
    for name, (asks, _) in ANSWER_TYPES.items():
        if asks.search(question):
            return name
    return None


def holds_type(kind: str | None, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds an answer of ``kind`` that the question does not already contain.

    >>> holds_type("number", "The toll surpassed 23,000.", "How many died?")
    True
    >>> holds_type("number", "Many died on October 7.", "How many died on October 7?")
    False
    """
    if kind is None:
        return False
    found = {m.group().lower() for m in ANSWER_TYPES[kind][1].finditer(sentence)}
    given = {m.group().lower() for m in ANSWER_TYPES[kind][1].finditer(question)}
    return bool(found - given)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with what retrieval said about its passage."""

    key: int  # the caller's handle (index into its own list)
    source: str
    text: str
    passage_text: str
    retrieval: float  # the passage's fused score, scaled so the best passage has 1.0
    agree: bool  # both the dense and the keyword side returned the passage
    dense: float = 0.0  # cosine of the question with the sentence's in-context embedding
    lead: bool = True  # may carry an answer line; False: may only support one (from a lower passage)


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    coverage: float  # idf-weighted share of the question's terms in the sentence
    passage_coverage: float  # the same, in the sentence's whole passage
    typed: bool


@lru_cache(maxsize=1)
def _question_words() -> frozenset[str]:
    """Stems of words that say what kind of answer is wanted, not what it is about: never evidence."""
    words = ("who whom whose what when where which why how many much did does do is are was were "
             "according article articles report reports say says tell "
             # nouns that name the kind of answer ("in which city", "what kind of"), not its topic
             "city cities country countries town towns place day date year kind sort").split()
    return frozenset(_stemmer().stemWords(words))


def weighted_terms(question: str, context: str, idf: Callable[[str], float], context_weight: float = 0.5) -> dict[str, float]:
    """Query terms with their weights: idf, and less for terms that come only from the history.

    >>> weighted_terms("Who is he?", "Matthew Miller", lambda t: 2.0)
    {'matthew': 1.0, 'miller': 1.0}
    """
    weights = {t: idf(t) for t in terms(question) if t not in _question_words()}
    for t in terms(context):
        if t not in _question_words():
            weights.setdefault(t, idf(t) * context_weight)
    return weights


def coverage(query: dict[str, float], text: str) -> float:
    """Share of the query's term weight found in ``text``.

    >>> coverage({"kirbi": 3.0, "said": 1.0}, "Kirby said so")
    1.0
    >>> coverage({"kirbi": 3.0, "said": 1.0}, "He said so")
    0.25
    """
    total = sum(query.values())
    if not total:
        return 0.0
    present = set(terms(text))
    return sum(w for t, w in query.items() if t in present) / total


def score_sentences(question: str, query: dict[str, float], candidates: Sequence[Candidate]) -> list[Scored]:
    """Every candidate scored as an answer to ``question``, best first."""
    kind = answer_type(question)
    scored = []
    for c in candidates:
        cov = coverage(query, c.text)
        pcov = coverage(query, c.passage_text)
        typed = holds_type(kind, c.text, question)
        score = (W_COVERAGE * cov + W_PASSAGE * pcov + W_TYPE * typed + W_RETRIEVAL * c.retrieval
                 + W_DENSE * c.dense)
        scored.append(Scored(c, score, cov, pcov, typed))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def confidence(best: Scored, kind: str | None) -> float:
    """How sure we are that ``best`` answers the question, in [0, 1]: the figure abstention thresholds.

    The share of the question's weighted terms present in the sentence's passage matters most (a
    question whose rare words the articles never use near the sentence is not answered there); a
    missing answer of the asked-for kind and disagreeing retrievers lower it.

    >>> c = Candidate(0, "a", "Kirby said 5.", "Kirby said 5.", 1.0, True)
    >>> confidence(Scored(c, 1.0, 1.0, 1.0, True), "number")
    1.0
    """
    value = 0.5 * best.passage_coverage + 0.3 * best.coverage + 0.1 * best.candidate.agree
    value += 0.1 * (best.typed if kind else 1.0)
    return round(min(1.0, value), 4)


def same_fact(a: str, b: str) -> bool:
    """Whether two sentences state the same fact closely enough to share one answer line.

    >>> same_fact("Blinken stressed avoiding civilian harm in Gaza.", "Blinken stressed the importance of avoiding civilian harm in Gaza")
    True
    >>> same_fact("The death toll in Gaza has surpassed 23,000.", "In Gaza, greater than 23,000 folks died.")
    True
    """
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return False
    if _FIGURE.findall(a) and set(_FIGURE.findall(a)) & set(_FIGURE.findall(b)) and len(ta & tb) >= 2:
        return True  # the same figure ("23,000") said in other words is the same fact
    return len(ta & tb) / min(len(ta), len(tb)) >= NEAR_DUPLICATE and len(ta & tb) >= 3


def group_answer(scored: Sequence[Scored], max_lines: int) -> list[list[Scored]]:
    """Answer lines: the best sentence with its near-duplicates from other articles, then further
    sentences from other articles that score nearly as well (where articles disagree), each with theirs.
    Only ``lead`` candidates start a line; the others can only support one.
    """
    leads = [s for s in scored if s.candidate.lead]
    if not leads:
        return []
    best = leads[0].score
    lines: list[list[Scored]] = []
    used: set[int] = set()
    for s in leads:
        if len(lines) >= max_lines or s.score < best * MIN_SECOND_LINE:
            break
        if s.candidate.key in used or any(same_fact(s.candidate.text, line[0].candidate.text) for line in lines):
            continue
        if lines and s.candidate.source in {x.candidate.source for line in lines for x in line}:
            continue
        line = [s]
        used.add(s.candidate.key)
        for other in scored:
            if other.candidate.key in used or other.candidate.source in {x.candidate.source for x in line}:
                continue
            if same_fact(s.candidate.text, other.candidate.text) and other.coverage >= 0.5 * s.coverage:
                line.append(other)
                used.add(other.candidate.key)
        lines.append(line)
    return lines

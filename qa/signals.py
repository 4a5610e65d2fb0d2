"""Signals that a sentence answers a question, each on a scale that does not move with corpus size.

Pure functions over text, numbers and vectors: no model, no store. ``qa.answer`` gathers the inputs
(word vectors from the embedding model, retrieval scores) and ``qa.selector`` combines the signals with
weights fitted on the eval's tune split. Lexical signals are shares of the question's weight (so they
stay in [0, 1] whatever the corpus); "soft" ones count a question word as present when the text has a
word close to it in the embedding model's space, so that "in other words" is not "not said".
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.evidence import _question_words, _stopwords, holds_type, stem_words, typed_near

_WORD = re.compile(r"(?u)\b\w[\w'’-]*\w\b")
_SPACE = re.compile(r"\s+")
_POSSESSIVE = re.compile(r"['’]s?$")
CONTEXT_WEIGHT = 0.5  # a term that only the conversation supplies counts half

# The signals, in the order the fitted selector expects them (qa/selector.json names them too).
FEATURES = ("dense", "passage_dense", "lexical", "soft", "own_soft", "soft_min", "weakest", "unmatched",
            "context_soft", "typed", "type_missing", "focused", "retrieval", "both_sides", "passage_rank", "absent",
            "absent_unmatched", "short", "sentence_rank", "pairs", "local_soft", "local_unmatched",
            "dense_gap", "lexical_gap", "soft_gap", "own_soft_gap", "context_gap")
# Signals also given as the gap to the question's best candidate: "best of these" is what ranks
GAPS = {"dense_gap": "dense", "lexical_gap": "lexical", "soft_gap": "soft", "own_soft_gap": "own_soft",
        "context_gap": "context_soft"}
UNMATCHED_BELOW = 0.5  # a word whose best match is under this is not said around the sentence, in any words
PAIR_WINDOW = 3  # content words: "killed 40 fighters" holds the pair (killed, fighters)


@dataclass(frozen=True)
class Term:
    """A content word of the question: as typed (for its vector), stemmed (for exact matches), weighted."""

    word: str
    stem: str
    weight: float
    own: bool = True  # from the question itself, not from the conversation before it


@lru_cache(maxsize=65536)
def content_words(text: str) -> tuple[str, ...]:
    """Lowercased words of ``text`` that carry content: no stopwords, no one-character words, no
    possessive "'s" (the keyword index splits "Blinken's" into "blinken" and "s").

    >>> content_words("The IDF's 98th Division killed 40 fighters in Khan Younis")
    ('idf', '98th', 'division', 'killed', '40', 'fighters', 'khan', 'younis')
    """
    stop = _stopwords()
    words = (_POSSESSIVE.sub("", w) for w in _WORD.findall(text.lower()))
    return tuple(w for w in words if len(w) > 1 and w not in stop)


def question_terms(question: str, context: str, idf: Callable[[str], float]) -> list[Term]:
    """The question's content terms, weighted by ``idf``; words of the conversation (``context``) count half.

    >>> [(t.word, t.weight) for t in question_terms("Who is he?", "Matthew Miller", lambda s: 2.0)]
    [('matthew', 1.0), ('miller', 1.0)]
    """
    stems_of = stem_words
    terms: dict[str, Term] = {}
    for text, share in ((question, 1.0), (context, CONTEXT_WEIGHT)):
        words = content_words(text)
        for word, stem in zip(words, stems_of(list(words))):
            if stem in _question_words() or stem in terms:
                continue
            terms[stem] = Term(word, stem, share * idf(stem), share == 1.0)
    return list(terms.values())


@lru_cache(maxsize=65536)
def stems(text: str) -> frozenset[str]:
    """The stems of the content words of ``text``.

    >>> sorted(stems("Hostages were released"))
    ['hostag', 'releas']
    """
    return frozenset(stem_sequence(text))


@lru_cache(maxsize=65536)
def stem_sequence(text: str) -> tuple[str, ...]:
    """The stems of the content words of ``text``, in order.

    >>> stem_sequence("The death toll in Gaza passed 23,000")
    ('death', 'toll', 'gaza', 'pass', '23', '000')
    """
    return tuple(stem_words(content_words(text)))


def near_pairs(sequence: Sequence[str], window: int = PAIR_WINDOW) -> set[tuple[str, str]]:
    """Every ordered pair of stems the second of which follows the first within ``window`` words.

    >>> sorted(near_pairs(("kill", "40", "fighter"), 2))
    [('40', 'fighter'), ('kill', '40'), ('kill', 'fighter')]
    """
    return {(a, b) for i, a in enumerate(sequence) for b in sequence[i + 1: i + 1 + window]}


def pair_share(question: str, sentence: str) -> float:
    """The share of the question's consecutive content-word pairs that the sentence holds in the same
    order within ``PAIR_WINDOW`` content words: a phrase of the question said in the sentence ("death
    toll", "war cabinet", "interim leader"), not only its words scattered over it.

    >>> pair_share("What was the death toll in Gaza?", "Gaza's death toll passed 23,000.")
    0.5
    >>> pair_share("What was the death toll in Gaza?", "Gaza's dead took their toll.")  # the words, not the phrase
    0.0
    >>> pair_share("Who is Kirby?", "Kirby spoke.")  # one content word: no pair to find
    0.0
    """
    asked = stem_sequence(question)
    pairs = list(zip(asked, asked[1:]))
    if not pairs:
        return 0.0
    near = _pairs_in(sentence)
    return sum(p in near for p in pairs) / len(pairs)


@lru_cache(maxsize=65536)
def _pairs_in(text: str) -> frozenset[tuple[str, str]]:
    """``near_pairs`` of a text's stems, cached: a passage's sentences are scored for every question."""
    return frozenset(near_pairs(stem_sequence(text)))


def soft_matches(terms: Sequence[Term], term_vectors: np.ndarray, text_stems: frozenset[str],
                 word_vectors: np.ndarray) -> np.ndarray:
    """Per term, how closely a text has it: 1.0 when the text has the term's stem, else the best cosine
    between the term's vector and a vector of one of the text's words (0 when the text has no words).
    A number matches only itself: "24" is not nearly "23".

    >>> t = [Term("fighters", "fighter", 1.0), Term("killed", "kill", 1.0)]
    >>> soft_matches(t, np.array([[1.0, 0.0], [0.0, 1.0]]), frozenset({"kill"}), np.array([[0.6, 0.8]])).tolist()
    [0.6, 1.0]
    """
    exact = np.array([t.stem in text_stems for t in terms], dtype=bool)
    numeric = np.array([t.word[0].isdigit() for t in terms], dtype=bool)
    if len(word_vectors) and len(terms):
        best = np.clip((term_vectors @ word_vectors.T).max(axis=1), 0.0, 1.0)
    else:
        best = np.zeros(len(terms))
    return np.where(exact, 1.0, np.where(numeric, 0.0, best))


def local_terms(terms: Sequence[Term], passages: Sequence[frozenset[str]]) -> list[Term]:
    """The terms weighted by how few of the retrieved ``passages`` (their stems) hold them, not by the
    corpus: a word every retrieved passage holds is the topic ("blinken" where all of them are about
    him), a word none holds is the detail asked for. The weights do not move as the corpus grows.
    Conversation terms keep their lower share.

    >>> t = [Term("blinken", "blinken", 5.0), Term("reply", "repli", 2.0)]
    >>> [round(x.weight, 2) for x in local_terms(t, [frozenset({"blinken"})] * 3)]
    [0.13, 2.08]
    """
    n = len(passages)
    out = []
    for t in terms:
        held = sum(t.stem in p for p in passages)
        share = 1.0 if t.own else CONTEXT_WEIGHT
        out.append(Term(t.word, t.stem, share * math.log((n + 1) / (held + 0.5)), t.own))
    return out


def weighted_share(values: Sequence[float], terms: Sequence[Term]) -> float:
    """The terms' weighted mean of ``values`` (their match or presence), in [0, 1].

    >>> weighted_share([1.0, 0.0], [Term("a", "a", 3.0), Term("b", "b", 1.0)])
    0.75
    """
    total = sum(t.weight for t in terms)
    return float(sum(v * t.weight for v, t in zip(values, terms)) / total) if total else 0.0


def weakest(values: Sequence[float], terms: Sequence[Term], heaviest: int = 3) -> float:
    """The lowest match among the ``heaviest`` terms: one key word the text lacks sinks it (a near miss).

    >>> weakest([0.9, 0.2, 1.0, 0.1], [Term(w, w, x) for w, x in zip("abcd", (3.0, 2.0, 1.5, 0.5))])
    0.2
    """
    if not terms:
        return 0.0
    order = sorted(range(len(terms)), key=lambda i: -terms[i].weight)[:heaviest]
    return float(min(values[i] for i in order))


def signal_row(terms: Sequence[Term], own: np.ndarray, around: np.ndarray, *, dense: float, passage_dense: float,
               lexical: float, kind: str | None, sentence: str, question: str, focus_stems: frozenset[str],
               retrieval: float, both_sides: bool, passage_rank: int, known: Sequence[bool],
               sentence_rank: int | None = None, local: Sequence[Term] | None = None) -> list[float]:
    """One candidate's signals in ``FEATURES`` order, the gaps left at 0 (``add_gaps`` fills them).

    ``own`` and ``around`` are the terms' matches (``soft_matches``) in the sentence and in the sentence
    with its neighbours; ``known`` says of each term whether the corpus uses it at all;
    ``sentence_rank`` is the sentence's rank (0: first) among the corpus's sentences nearest the
    question by their own vectors, None when it is not among them; ``local`` holds the terms weighted by
    the retrieved passages (``local_terms``), without which ``local_soft`` and ``local_unmatched`` are 0.

    >>> t = [Term("toll", "toll", 2.0), Term("gaza", "gaza", 1.0)]
    >>> row = signal_row(t, np.array([1.0, 0.4]), np.array([1.0, 0.2]), dense=0.5, passage_dense=0.6, lexical=0.67,
    ...                  kind="number", sentence="The toll passed 23,000 people.", question="How many died in Gaza?",
    ...                  focus_stems=frozenset({"die"}), retrieval=1.0, both_sides=True, passage_rank=0, known=[True, False])
    >>> {f: v for f, v in zip(FEATURES, row) if f in ("soft", "unmatched", "typed", "focused", "absent", "absent_unmatched")}
    {'soft': 0.8, 'unmatched': 0.333333, 'typed': 1.0, 'focused': 0.0, 'absent': 0.333333, 'absent_unmatched': 0.333333}
    """
    typed = holds_type(kind, sentence, question)
    mine = [i for i, t in enumerate(terms) if t.own] or list(range(len(terms)))
    own_terms = [terms[i] for i in mine]
    own_matches = [float(own[i]) for i in mine]
    row = {
        "dense": dense, "passage_dense": passage_dense, "lexical": lexical,
        "soft": weighted_share(own, terms), "own_soft": weighted_share(own_matches, own_terms),
        "soft_min": weakest(own, terms), "weakest": min(own_matches, default=0.0),
        "unmatched": weighted_share([float(around[i] < UNMATCHED_BELOW) for i in mine], own_terms),
        "context_soft": weighted_share(around, terms), "typed": float(typed),
        "type_missing": float(kind is not None and not typed),
        "focused": float(typed and typed_near(kind, sentence, question, focus_stems)), "retrieval": retrieval,
        "both_sides": float(both_sides), "passage_rank": 1.0 / (1 + passage_rank),
        "absent": weighted_share([0.0 if k else 1.0 for k in known], terms),
        "absent_unmatched": weighted_share([float(not k and a < UNMATCHED_BELOW) for k, a in zip(known, around)], terms),
        "short": float(len(_SPACE.split(sentence.strip())) < 6),
        "sentence_rank": 0.0 if sentence_rank is None else 1.0 / (1 + sentence_rank),
        "pairs": pair_share(question, sentence),
    }
    if local:
        row["local_soft"] = weighted_share(own, local)
        row["local_unmatched"] = weighted_share([float(a < UNMATCHED_BELOW) for a in around], local)
    return [round(float(row.get(f, 0.0)), 6) for f in FEATURES]


def add_gaps(rows: list[list[float]]) -> list[list[float]]:
    """The rows with each ``GAPS`` signal set to its base signal minus the best value among the rows.

    >>> i, j = FEATURES.index("dense"), FEATURES.index("dense_gap")
    >>> [[r[i], r[j]] for r in add_gaps([[0.0] * len(FEATURES), [0.0] * len(FEATURES)])]
    [[0.0, 0.0], [0.0, 0.0]]
    """
    if not rows:
        return rows
    table = np.array(rows, dtype=np.float64)
    for gap, base in GAPS.items():
        column = table[:, FEATURES.index(base)]
        table[:, FEATURES.index(gap)] = column - column.max()
    return table.round(6).tolist()


def logistic(model: dict, rows: np.ndarray) -> np.ndarray:
    """Probabilities from a fitted logistic model: standardise with its mean and scale, then the sigmoid.

    >>> logistic({"mean": [0.0], "scale": [1.0], "coef": [2.0], "intercept": 0.0}, np.array([[0.0], [1.0]])).round(3).tolist()
    [0.5, 0.881]
    """
    z = (rows - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return 1.0 / (1.0 + np.exp(-(z @ np.asarray(model["coef"]) + model["intercept"])))


def normalise_quote(text: str) -> str:
    """A sentence reduced for comparison with text already shown in the conversation.

    >>> normalise_quote("He said: “No.” [1]")
    'he said no'
    """
    text = re.sub(r"\[\d+\]", "", text.lower())
    return " ".join(re.findall(r"\w+", text))


def already_given(sentences: Sequence[str], history: Sequence[dict]) -> list[bool]:
    """Of each sentence, whether an assistant turn of ``history`` already quoted it (the turns are
    normalised once, not once per sentence).

    >>> already_given(["Kirby spoke.", "Miller spoke."], [{"role": "assistant", "content": "Kirby spoke. [1]"}])
    [True, False]
    """
    said = [normalise_quote(m["content"]) for m in history if m["role"] == "assistant"]
    needles = [normalise_quote(s) for s in sentences]
    return [bool(n) and any(n in turn for turn in said) for n in needles]


def sigmoid_margin(p_best: float, p_next: float) -> float:
    """The gap between the best and the next candidate, on the log-odds scale, squashed into [0, 1].

    >>> sigmoid_margin(0.9, 0.1) > sigmoid_margin(0.6, 0.5)
    True
    """
    def logit(p: float) -> float:
        p = min(max(p, 1e-6), 1 - 1e-6)
        return math.log(p / (1 - p))

    return 1.0 / (1.0 + math.exp(-(logit(p_best) - logit(p_next))))

"""Signals that a sentence answers a question, each on a scale that does not move with corpus size.

Pure functions over text, numbers and vectors: no model, no store. ``qa.answer`` gathers the inputs
(word vectors from the embedding model, retrieval scores) and ``qa.selector`` combines the signals with
weights fitted on the eval's tune split. Lexical signals are shares of the question's weight (so they
stay in [0, 1] whatever the corpus); "soft" ones count a question word as present when the text has a
word close to it in the embedding model's space, so that "in other words" is not "not said".
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.evidence import holds_type, question_words, stem_words, stopwords, typed_near

_WORD = re.compile(r"(?u)\b\w[\w'’-]*\w\b")
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
    stop = stopwords()
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
            if stem in question_words() or stem in terms:
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
    A number matches only itself: "24" is not nearly "23". (``best_matches`` does many texts at once.)

    >>> t = [Term("fighters", "fighter", 1.0), Term("killed", "kill", 1.0)]
    >>> soft_matches(t, np.array([[1.0, 0.0], [0.0, 1.0]]), frozenset({"kill"}), np.array([[0.6, 0.8]])).tolist()
    [0.6, 1.0]
    """
    cosines = term_vectors @ word_vectors.T if len(word_vectors) and len(terms) else np.zeros((len(terms), 0))
    return best_matches(terms, [text_stems], best_per_text(cosines, [range(cosines.shape[1])]))[0]


def best_per_text(cosines: np.ndarray, columns: Sequence[Sequence[int]]) -> np.ndarray:
    """Per term and text, the best of the term's cosines with the words (``cosines``: terms by words)
    over the text's words (``columns``: each text's word columns); -inf for a text without words. One
    gather for every text of a question instead of a product per text.

    >>> best_per_text(np.array([[0.1, 0.5, 0.3], [0.2, 0.0, 0.9]]), [[0, 2], [], [1]]).tolist()
    [[0.3, -inf, 0.5], [0.9, -inf, 0.0]]
    """
    lengths = np.fromiter((len(c) for c in columns), dtype=np.intp, count=len(columns))
    width = int(lengths.max(initial=0))
    padded = np.full((len(columns), max(width, 1)), cosines.shape[1])  # the -inf column pads short texts
    padded[np.arange(padded.shape[1]) < lengths[:, None]] = np.fromiter(
        itertools.chain.from_iterable(columns), dtype=np.intp, count=int(lengths.sum()))
    floor = np.full((cosines.shape[0], 1), -np.inf, dtype=cosines.dtype)
    return np.concatenate([cosines, floor], axis=1)[:, padded].max(axis=2)


def best_matches(terms: Sequence[Term], text_stems: Sequence[frozenset[str]], best: np.ndarray) -> np.ndarray:
    """``soft_matches`` of many texts, a row per text, from each term's best cosine with a word of each
    text (``best_per_text``: terms by texts).

    >>> t = [Term("fighters", "fighter", 1.0), Term("killed", "kill", 1.0), Term("24", "24", 1.0)]
    >>> best_matches(t, [frozenset({"kill"}), frozenset()], np.array([[0.6, 1.2], [0.1, -np.inf], [0.9, 0.9]])).tolist()
    [[0.6, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    numeric = np.array([t.word[0].isdigit() for t in terms], dtype=bool)
    return np.where(presence(terms, text_stems), 1.0, np.where(numeric, 0.0, np.clip(best.T, 0.0, 1.0)))


def presence(terms: Sequence[Term], text_stems: Sequence[frozenset[str]]) -> np.ndarray:
    """Whether each text (its stems) holds each term's stem: a row per text, a column per term.

    >>> presence([Term("killed", "kill", 1.0), Term("24", "24", 1.0)], [frozenset({"kill"}), frozenset()]).tolist()
    [[True, False], [False, False]]
    """
    exact = np.array([[t.stem in stems_ for t in terms] for stems_ in text_stems], dtype=bool)
    return exact.reshape(len(text_stems), len(terms))


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


def weighted_shares(values: np.ndarray, terms: Sequence[Term]) -> np.ndarray:
    """The terms' weighted mean of each row of ``values`` (texts by terms: matches or presence), in [0, 1].

    >>> weighted_shares(np.array([[1.0, 0.0], [1.0, 1.0]]), [Term("a", "a", 3.0), Term("b", "b", 1.0)]).tolist()
    [0.75, 1.0]
    """
    return _shares(np.asarray(values, dtype=np.float64).reshape(len(values), len(terms)),
                   np.array([t.weight for t in terms], dtype=np.float64))


def weakest(values: np.ndarray, terms: Sequence[Term], heaviest: int = 3) -> np.ndarray:
    """Per row of ``values`` (texts by terms), the lowest match among the ``heaviest`` terms: one key word
    the text lacks sinks it (a near miss). Ties in weight go to the earlier term.

    >>> terms = [Term(w, w, x) for w, x in zip("abcd", (3.0, 2.0, 1.5, 0.5))]
    >>> weakest(np.array([[0.9, 0.2, 1.0, 0.1], [1.0, 1.0, 0.5, 0.0]]), terms).tolist()
    [0.2, 0.5]
    """
    if not terms:
        return np.zeros(len(values))
    order = np.argsort([-t.weight for t in terms], kind="stable")[:heaviest]
    return np.asarray(values, dtype=np.float64)[:, order].min(axis=1)


def signal_row(terms: Sequence[Term], own: np.ndarray, around: np.ndarray, *, dense: float, passage_dense: float,
               lexical: float, kind: str | None, sentence: str, question: str, focus_stems: frozenset[str],
               retrieval: float, both_sides: bool, passage_rank: int, known: Sequence[bool],
               sentence_rank: int | None = None, local: Sequence[Term] | None = None) -> list[float]:
    """One candidate's signals in ``FEATURES`` order, the gaps left at 0 (``add_gaps`` fills them):
    ``signal_table`` for a single sentence.

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
    return signal_table(terms, np.asarray(own)[None, :], np.asarray(around)[None, :], dense=[dense],
                        passage_dense=[passage_dense], lexical=[lexical], kind=kind, sentences=[sentence],
                        question=question, focus_stems=focus_stems, retrieval=[retrieval], both_sides=[both_sides],
                        passage_rank=[passage_rank], known=known, sentence_rank=[sentence_rank], local=local)[0].tolist()


def signal_table(terms: Sequence[Term], own: np.ndarray, around: np.ndarray, *, dense: Sequence[float],
                 passage_dense: Sequence[float], lexical: Sequence[float], kind: str | None, sentences: Sequence[str],
                 question: str, focus_stems: frozenset[str], retrieval: Sequence[float], both_sides: Sequence[bool],
                 passage_rank: Sequence[int], known: Sequence[bool], sentence_rank: Sequence[int | None],
                 local: Sequence[Term] | None = None) -> np.ndarray:
    """Every candidate's signals at once, a row per sentence in ``FEATURES`` order, gaps left at 0: the
    shares of the question's weight are one matrix product over all candidates instead of a loop over
    them (a question has about 60 candidate sentences). ``own`` and ``around`` hold a row of term matches
    per sentence; the other per-sentence arguments are as ``signal_row``'s, one value per sentence.

    >>> t = [Term("toll", "toll", 2.0), Term("gaza", "gaza", 1.0)]
    >>> own, around = np.array([[1.0, 0.4], [0.0, 1.0]]), np.array([[1.0, 0.2], [0.0, 1.0]])
    >>> table = signal_table(t, own, around, dense=[0.5, 0.4], passage_dense=[0.6, 0.6], lexical=[0.67, 0.33],
    ...                      kind=None, sentences=["Toll up.", "In Gaza."], question="Gaza toll?",
    ...                      focus_stems=frozenset(), retrieval=[1.0, 1.0], both_sides=[True, False],
    ...                      passage_rank=[0, 1], known=[True, True], sentence_rank=[None, 0])
    >>> shown = ("soft", "unmatched", "passage_rank", "sentence_rank")
    >>> [[float(v) for f, v in zip(FEATURES, row) if f in shown] for row in table]
    [[0.8, 0.333333, 1.0, 0.0], [0.333333, 0.666667, 0.5, 1.0]]
    """
    n = len(sentences)
    own = np.asarray(own, dtype=np.float64).reshape(n, len(terms))
    around = np.asarray(around, dtype=np.float64).reshape(n, len(terms))
    weights = np.array([t.weight for t in terms], dtype=np.float64)
    mine = [i for i, t in enumerate(terms) if t.own] or list(range(len(terms)))
    unsaid = around < UNMATCHED_BELOW
    typed = np.array([holds_type(kind, s, question) for s in sentences], dtype=bool)
    absent = np.array([not k for k in known], dtype=bool)
    columns = {
        "dense": dense, "passage_dense": passage_dense, "lexical": lexical,
        "soft": _shares(own, weights), "own_soft": _shares(own[:, mine], weights[mine]),
        "soft_min": weakest(own, terms),
        "weakest": own[:, mine].min(axis=1) if mine else 0.0,
        "unmatched": _shares(unsaid[:, mine], weights[mine]), "context_soft": _shares(around, weights),
        "typed": typed, "type_missing": (kind is not None) & ~typed,
        "focused": [bool(t) and typed_near(kind, s, question, focus_stems) for t, s in zip(typed, sentences)],
        "retrieval": retrieval, "both_sides": both_sides,
        "passage_rank": 1.0 / (1.0 + np.asarray(passage_rank, dtype=np.float64)),
        "absent": _shares(absent[None, :], weights)[0], "absent_unmatched": _shares(absent & unsaid, weights),
        "short": [len(s.split()) < 6 for s in sentences],
        "sentence_rank": [0.0 if r is None else 1.0 / (1 + r) for r in sentence_rank],
        "pairs": [pair_share(question, s) for s in sentences],
    }
    if local:
        local_weights = np.array([t.weight for t in local], dtype=np.float64)
        columns["local_soft"] = _shares(own, local_weights)
        columns["local_unmatched"] = _shares(unsaid, local_weights)
    table = np.zeros((n, len(FEATURES)))
    for name, values in columns.items():
        table[:, FEATURES.index(name)] = np.asarray(values, dtype=np.float64)
    return table.round(6)


def _shares(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weighted_shares`` with the terms' weights given as an array.

    >>> _shares(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([3.0, 1.0])).tolist()
    [0.75, 1.0]
    """
    total = weights.sum()
    if not total:
        return np.zeros(len(values))
    return np.asarray(values, dtype=np.float64) @ weights / total


def add_gaps(rows: Sequence[Sequence[float]] | np.ndarray) -> list[list[float]]:
    """The rows (lists, or ``signal_table``'s array) with each ``GAPS`` signal set to its base signal minus
    the best value among the rows.

    >>> i, j = FEATURES.index("dense"), FEATURES.index("dense_gap")
    >>> [[r[i], r[j]] for r in add_gaps([[0.0] * len(FEATURES), [0.0] * len(FEATURES)])]
    [[0.0, 0.0], [0.0, 0.0]]
    """
    if not len(rows):
        return list(rows)
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
    if not said:  # a first question: nothing to compare (normalising 60 sentences costs about 1 ms)
        return [False] * len(sentences)
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

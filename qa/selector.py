"""Turn the signals of candidate sentences into answer probabilities, a confidence and answer lines.

Two logistic models, fitted by ``python -m evals.fit`` on the eval's tune split over all three eval
corpora at once and stored in ``qa/selector.json`` with the threshold and line ratios chosen there:
the *ranker* gives each sentence the probability that it states the answer; the *answerer* gives the
probability that the best sentence answers the question correctly, from the ranker's best probability,
its margin over the next, and the best sentence's signals: that is the confidence abstention
thresholds. Choosing lines is a pure function. Nothing here reads the store or runs a model.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import ConfigError
from qa.evidence import same_answer, same_fact
from qa.signals import FEATURES, logistic, sigmoid_margin

SELECTOR_FILE = Path(__file__).with_name("selector.json")
ANSWER_FEATURES = ("p_best", "margin", "dense", "soft", "own_soft", "soft_min", "weakest", "unmatched", "lexical",
                   "typed", "type_missing", "focused", "absent", "absent_unmatched", "passage_dense", "local_soft",
                   "local_unmatched", "agreeing",
                   "top_typed", "top_focused", "top_unmatched")
# A version of another article must be as near the question in meaning as the best sentence, its in-context
# cosine at most this far below: chosen on tune among the gaps of four signals (dense, soft, own_soft,
# context) at 0.05 / 0.1 / 0.2 by every-source-cited plus citation precision (docs/evals.md)
VERSION_DENSE_GAP = 0.05
# Asked for a figure, a duration or a day, a sentence without one does not answer: out of fold on tune, none
# of 24 such best sentences was right and 20 were for unanswerable questions (docs/evals.md). Not for
# names or places, which a role word or a description can answer. "times" (how many times or trips: "his
# fourth trip") was part of "number" when the gate was chosen.
GATED_KINDS = ("number", "times", "duration", "time")
# An answer whose confidence (the answerer's probability that it is right) is under this is more likely
# wrong than right: it is given, marked unsure, instead of being refused (refusing there would refuse
# about half of the answerable questions). Set from what the probability means, not tuned; how often
# such answers are right, on both splits, is in docs/evals.md.
UNSURE_BELOW = 0.5
TOP = 3  # the leading sentences whose best values say whether the articles hold the asked-for detail at all


@dataclass(frozen=True)
class Ranked:
    """A candidate sentence with its signals (``FEATURES`` order) and its probability of stating the answer."""

    key: int  # the caller's handle
    source: str
    text: str
    signals: tuple[float, ...]
    p: float = 0.0
    lead: bool = True  # may start an answer line; False: may only support one


@lru_cache(maxsize=8)
def load_selector(path: str | None = None) -> dict:
    """The fitted selector (``qa/selector.json`` unless ``path``), checked against the signals it expects."""
    file = Path(path) if path else SELECTOR_FILE
    try:
        selector = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read the answer selector {file}: {err}; refit it with `python -m evals.fit`") from None
    if tuple(selector.get("ranker", {}).get("features", ())) != FEATURES or \
            tuple(selector.get("answerer", {}).get("features", ())) != ANSWER_FEATURES:
        raise ConfigError(f"the answer selector {file} was fitted on other signals; refit it with `python -m evals.fit`")
    return selector


def rank(candidates: Sequence[Ranked], ranker: dict) -> list[Ranked]:
    """The candidates with the ranker's probabilities, best first (ties keep retrieval order)."""
    if not candidates:
        return []
    p = logistic(ranker, np.array([c.signals for c in candidates], dtype=np.float64))
    scored = [Ranked(c.key, c.source, c.text, c.signals, float(x), c.lead) for c, x in zip(candidates, p)]
    return sorted(scored, key=lambda c: -c.p)


def without_repeats(ranked: Sequence[Ranked], repeated: set[int]) -> list[Ranked]:
    """The candidates less those the conversation already quoted (keys in ``repeated``), so that a
    follow-up is answered anew; all of them when only a repeated one could start an answer.

    >>> r = [Ranked(0, "a", "Old answer.", (), 0.9), Ranked(1, "a", "New answer.", (), 0.5)]
    >>> [c.key for c in without_repeats(r, {0})], [c.key for c in without_repeats(r[:1], {0})]
    ([1], [0])
    """
    fresh = [c for c in ranked if c.key not in repeated]
    return fresh if any(c.lead for c in fresh) else list(ranked)


def answer_signals(ranked: Sequence[Ranked], agree_ratio: float) -> list[float] | None:
    """The answerer's inputs (``ANSWER_FEATURES`` order) for ranked candidates, or None without a lead.

    ``agreeing`` is how many other articles have a sentence within ``agree_ratio`` of the best one's
    probability (a fact several reports state is more likely a real answer), as a share of 3;
    ``top_typed`` whether any of the ``TOP`` leading sentences holds the asked-for kind of answer, and
    ``top_unmatched`` the least any of them leaves of the question unsaid (a near miss leaves a word
    unsaid in all of them).

    >>> a = Ranked(0, "x", "Gallant met Blinken.", tuple([0.5] * len(FEATURES)), 0.9)
    >>> b = Ranked(1, "y", "Gallant met Blinken on Tuesday.", tuple([0.4] * len(FEATURES)), 0.6)
    >>> [round(v, 3) for v in answer_signals([a, b], 0.5)]
    [0.9, 0.857, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.333, 0.5, 0.5, 0.4]
    """
    leads = [c for c in ranked if c.lead]
    if not leads:
        return None
    best = leads[0]
    others = [c for c in ranked if c.key != best.key]
    p_next = others[0].p if others else 0.0
    agreeing = {c.source for c in others if c.source != best.source and c.p >= agree_ratio * best.p}
    s = dict(zip(FEATURES, best.signals))
    top = [dict(zip(FEATURES, c.signals)) for c in leads[:TOP]]
    return [best.p, sigmoid_margin(best.p, p_next), *(s[f] for f in ANSWER_FEATURES[2:-4]), min(len(agreeing), 3) / 3,
            max(t["typed"] for t in top), max(t["focused"] for t in top), min(t["unmatched"] for t in top)]


def confidence(ranked: Sequence[Ranked], selector: dict, kind: str | None = None) -> float:
    """The probability that the best lead sentence answers the question (0 without one, and 0 when the
    question asks for a figure, a duration or a day, of ``kind``, that the sentence does not hold)."""
    if lacks_asked_kind(ranked, kind):
        return 0.0
    row = answer_signals(ranked, selector["agree_ratio"])
    if row is None:
        return 0.0
    return round(float(logistic(selector["answerer"], np.array([row]))[0]), 4)


def lacks_asked_kind(ranked: Sequence[Ranked], kind: str | None) -> bool:
    """Whether the question asks for one of the ``GATED_KINDS`` (a figure, a duration, a day) and the best
    lead sentence holds none beyond what the question says (its ``type_missing`` signal).

    >>> has, hasnt = tuple([0.0] * len(FEATURES)), tuple(float(f == "type_missing") for f in FEATURES)
    >>> lacks_asked_kind([Ranked(0, "x", "About 23,000 died.", has, 0.9)], "number")
    False
    >>> lacks_asked_kind([Ranked(0, "x", "Many died.", hasnt, 0.9)], "number")
    True
    >>> lacks_asked_kind([Ranked(0, "x", "Many died.", hasnt, 0.9)], "person")  # a role may answer "who"
    False
    """
    leads = [c for c in ranked if c.lead]
    return kind in GATED_KINDS and bool(leads) and dict(zip(FEATURES, leads[0].signals))["type_missing"] > 0.5


def choose_lines(ranked: Sequence[Ranked], line_ratio: float, support_ratio: float, max_lines: int,
                 kind: str | None = None, version_ratio: float | None = None) -> list[list[Ranked]]:
    """Answer lines from ``ranked`` (best first), each a sentence and other articles' statements of it.

    The best lead sentence starts the first line. A lead sentence of another article starts a further
    line (another version: a different figure, date or place) when its probability is at least
    ``line_ratio`` of the best one's. Any sentence of another article that states the same fact as a
    line (``same_fact``, or ``same_answer`` of the asked-for ``kind``: the same figure or name about the
    same thing), with at least ``support_ratio`` of the best probability, is cited on that line too.
    With ``version_ratio``, a lead sentence of another article under ``line_ratio`` but at least
    ``version_ratio`` of the best still starts a line when it holds an answer of the asked-for ``kind``
    next to what the question asks about (its "focused" signal) and is about as near the question in
    meaning as the best sentence (``VERSION_DENSE_GAP``): another article's version of a figure, day
    or place is usually worded apart from the best one and ranked well below it.

    >>> r = [Ranked(0, "a", "The toll passed 23,000 in Gaza.", (), 0.9), Ranked(2, "c", "Officials said 24,000 died.", (), 0.8),
    ...      Ranked(3, "a", "Blinken left.", (), 0.7), Ranked(1, "b", "In Gaza the toll is over 23,000.", (), 0.5)]
    >>> [[c.key for c in line] for line in choose_lines(r, 0.8, 0.3, 3)]
    [[0, 1], [2]]
    >>> r = [Ranked(0, "a", "Hamas holds three hostages in Rafah.", (), 0.9), Ranked(1, "b", "In Rafah, three hostages remain.", (), 0.5)]
    >>> [[c.key for c in line] for line in choose_lines(r, 0.8, 0.3, 3, "number")]
    [[0, 1]]
    >>> typed = tuple(1.0 if f == "focused" else 0.0 for f in FEATURES)  # dense_gap 0: as near as the best
    >>> r = [Ranked(0, "a", "He arrived on Tuesday.", typed, 0.9), Ranked(1, "b", "He landed on Monday night.", typed, 0.2)]
    >>> [[c.key for c in line] for line in choose_lines(r, 0.6, 0.3, 3, "time")]
    [[0]]
    >>> [[c.key for c in line] for line in choose_lines(r, 0.6, 0.3, 3, "time", version_ratio=0.2)]
    [[0], [1]]
    """
    leads = [c for c in ranked if c.lead]
    if not leads:
        return []
    best = leads[0].p
    lines: list[list[Ranked]] = []
    used: set[int] = set()
    focused, dense_gap = FEATURES.index("focused"), FEATURES.index("dense_gap")
    for c in leads:
        if len(lines) >= max_lines:
            break
        if c.p < line_ratio * best:
            if version_ratio is None or kind is None or c.p < version_ratio * best:
                break
            if len(c.signals) != len(FEATURES) or c.signals[focused] < 1.0 or c.signals[dense_gap] < -VERSION_DENSE_GAP:
                continue
        cited = {x.source for line in lines for x in line}
        if c.key in used or (lines and c.source in cited) or any(same_fact(c.text, line[0].text) for line in lines):
            continue
        line = [c]
        used.add(c.key)
        for other in ranked:
            if other.p < support_ratio * best:
                break
            if other.key in used or other.source in {x.source for x in line}:
                continue
            if not same_fact(c.text, other.text) and not same_answer(kind, c.text, other.text):
                continue
            line.append(other)
            used.add(other.key)
        lines.append(line)
    return lines

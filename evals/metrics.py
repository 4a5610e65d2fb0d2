"""Metrics of the eval: answer matching, token F1, span overlap, ranks, percentiles; pure functions.

Nothing here runs the system or reads files (see ``evals.run``).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_MARKER = re.compile(r"\[\d+\]")
_THOUSANDS = re.compile(r"(?<=\d)[,\u202f\u00a0](?=\d{3}\b)")


def normalise(text: str) -> str:
    """Lowercase, unify quotes and spaces, drop [n] markers and thousands separators.

    >>> normalise("More than 23,000 “folks” [1]")
    'more than 23000 "folks"'
    """
    text = unicodedata.normalize("NFKC", _MARKER.sub("", text))
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = _THOUSANDS.sub("", text.lower())
    return " ".join(text.split())


def answer_matches(answer: str, aliases: Iterable[str]) -> bool:
    """Whether a normalised alias occurs in the answer, on word boundaries.

    >>> answer_matches("The toll passed 23,000. [1]", ["23000"]), answer_matches("It was 123000", ["23,000"])
    (True, False)
    """
    text = normalise(answer)
    for alias in aliases:
        a = normalise(alias)
        if a and re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text):
            return True
    return False


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style token F1 between two texts.

    >>> round(token_f1("the death toll passed 23,000", "more than 23,000"), 3)
    0.25
    """
    p, g = normalise(prediction).split(), normalise(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    """Whether two (source, start, end) spans share at least one character.

    >>> overlaps(("a", 0, 10), ("a", 9, 20)), overlaps(("a", 0, 10), ("a", 10, 20)), overlaps(("a", 0, 5), ("b", 0, 5))
    (True, False, False)
    """
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def first_hit(ranked: Sequence[tuple[str, int, int]], gold: Sequence[tuple[str, int, int]]) -> int | None:
    """1-based rank of the first ranked span that overlaps a gold span, or None.

    >>> first_hit([("a", 0, 5), ("a", 50, 60)], [("a", 55, 58)])
    2
    """
    for rank, span in enumerate(ranked, 1):
        if any(overlaps(span, g) for g in gold):
            return rank
    return None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values.

    >>> percentile([1, 2, 3, 4], 50), percentile([1, 2, 3, 4], 95)
    (2.5, 3.85)
    """
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 6)


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for nothing.

    >>> mean([1, 0, 1, 1])
    0.75
    """
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0.

    >>> safe_ratio(1, 4), safe_ratio(1, 0)
    (0.25, 0.0)
    """
    return numerator / denominator if denominator else 0.0

"""Check a generated answer sentence by sentence against the numbered sentences it cites; pure functions.

A claim is one sentence of the model's reply with its ``[n]`` markers. It is *supported* when
1. its markers point to sentences the model was given (a claim without a marker is attributed to the
   one given sentence that supports it best, if any does: "attributed");
2. every figure and every name in it occurs in the sentences it cites, and a negation in it ("not",
   "never", "n't") has one there: the hard rule, no score can overrule it ("more than 130" needs 130
   there, "Blinken" needs Blinken);
3. its *support score* (``support_score``: the content words of the claim, and their order, found in
   the cited sentences) is at least ``SUPPORT_THRESHOLD``.

This is a lexical check: it catches invented figures and names, negations the source does not make
and sentences built of words (or word orders) the source does not have; it does not catch two roles
swapped when both occur near each other, or a negation the claim leaves out.
Nothing here calls a model or reads the store.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from qa.signals import content_words, near_pairs, stem_sequence
from qa.types import Claim

# Set by hand before any measurement, not fitted: docs/evals.md reports what it lets through.
SUPPORT_THRESHOLD = 0.6

_MARKER = re.compile(r"\[\s*(?:sentence|source)?\s*(\d{1,3}(?:\s*[,;]\s*(?:sentence|source)?\s*\d{1,3})*)\s*\]", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\[\"“'A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Gen|Lt|Col|Sgt|Sen|Rep|Gov|Prof|Jr|Sr|No|vs)|\b[A-Z](?:\.[A-Z])*)\.$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'\-]*")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                      "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000", "dozen": "12"})
# Capitalised only because they start a sentence: not names. (Stopwords are left out anyway.)
_STARTERS = frozenset("""according also although after as at before both but during even however if in it its
meanwhile no not on since so that the there these this those though thus when where while yes yet""".split())
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without)\b|n[’']t\b", re.I)
_REFUSALS = re.compile(r"\b(?:do(?:es)?\s*n[o']?t|cannot|can't|don't)\s+(?:answer|say|mention|state|provide|"
                       r"contain|include|tell)|\bno information\b|\bnot (?:mentioned|stated|given|specified)\b", re.I)


def split_claims(reply: str) -> list[tuple[str, tuple[int, ...]]]:
    """The sentences of a reply, each without its markers, with the numbers its markers give.

    A marker after the full stop belongs to the sentence before it.

    >>> split_claims("Kirby is a spokesman [1]. He spoke on Monday. [2][3] Talks go on [1, 4].")
    [('Kirby is a spokesman.', (1,)), ('He spoke on Monday.', (2, 3)), ('Talks go on.', (1, 4))]
    >>> split_claims("- Mr. Miller left [2]\\n- U.S. aid arrived [1]")
    [('Mr. Miller left', (2,)), ('U.S. aid arrived', (1,))]
    """
    pieces = []
    for line in reply.splitlines():
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(line):
            if not _ABBREVIATION.search(line[start: match.start()].rstrip("\"'”’)")):
                pieces.append(line[start: match.start()])
                start = match.end()
        pieces.append(line[start:])
    claims: list[list] = []
    for piece in pieces:
        leading = re.match(r"^(?:\s*" + _MARKER.pattern + r")+", piece, re.I)
        if leading and claims:  # "... Monday. [2][3] Talks ...": the markers close the previous sentence
            claims[-1][1] += _numbers(leading.group())
            piece = piece[leading.end():]
        text = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", piece)).strip()
        text = re.sub(r"\s{2,}", " ", text)
        if text:
            claims.append([text, _numbers(piece)])
        elif claims:
            claims[-1][1] += _numbers(piece)
    return [(text, tuple(dict.fromkeys(numbers))) for text, numbers in claims]


def _numbers(text: str) -> list[int]:
    return [int(n) for group in _MARKER.findall(text) for n in re.findall(r"\d+", group)]


def figures(text: str) -> set[str]:
    """The figures of ``text``, digits without thousands commas; number words as digits.

    >>> sorted(figures("Six soldiers and 1,200 people; 3.5 percent, twenty times"))
    ['1200', '20', '3.5', '6']
    """
    found = {m.group().replace(",", "").rstrip(".") for m in _FIGURE.finditer(text)}
    return found | {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}


def names(text: str) -> list[str]:
    """The capitalised words of a sentence that are names (a sentence's first word only when it is not a
    common word), lowercased, without a possessive.

    >>> names("According to Kirby's office, the IDF entered Gaza on Monday.")
    ['kirby', 'idf', 'gaza', 'monday']
    >>> names("John Kirby spoke.")
    ['john', 'kirby']
    """
    out = []
    for match in _CAPITALISED.finditer(text):
        word = re.sub(r"[’']s?$", "", match.group()).lower().strip("-")
        first = not text[: match.start()].strip(" \"'“‘(")
        if not word or word in _NUMBER_WORDS or (first and word in _STARTERS) or (first and word not in content_words(word)):
            continue
        out.append(word)
    return list(dict.fromkeys(out))


def _has_name(name: str, words: set[str]) -> bool:
    """A name occurs in a set of words: as itself, or as the shorter form of a demonym (Israel / Israeli)."""
    if name in words:
        return True
    return any(len(w) >= 4 and len(name) >= 4 and abs(len(w) - len(name)) <= 3 and (w.startswith(name) or name.startswith(w))
               for w in words)


def missing(claim: str, quotes: Sequence[str]) -> tuple[str, ...]:
    """The figures and names of ``claim`` that none of ``quotes`` holds, and "not" for a negation none of
    them has: each one makes the claim unsupported.

    >>> missing("Kirby said 40 trucks entered Gaza.", ["John Kirby said 40 aid trucks entered on Monday."])
    ('gaza',)
    >>> missing("Israeli troops killed six.", ["Israel said its troops killed 6 fighters."])
    ()
    >>> missing("The envoy was not the prime minister.", ["The envoy met the prime minister."])
    ('not',)
    """
    text = " ".join(quotes)
    words = {re.sub(r"[’']s?$", "", w) for w in re.findall(r"[\w’'\-]+", text.lower())}
    lost = [f for f in sorted(figures(claim)) if f not in figures(text)]
    lost += [n for n in names(claim) if not _has_name(n, words) and n not in figures(claim)]
    if _NEGATION.search(claim) and not _NEGATION.search(text):
        lost.append("not")
    return tuple(lost)


def support_score(claim: str, quotes: Sequence[str]) -> float:
    """How much of the claim the quotes hold: the mean of two shares, (1) its content words (as stems)
    found in the quotes, and (2) its pairs of consecutive content words found in the same order within
    ``qa.signals.PAIR_WINDOW`` content words of each other in one quote, which a sentence built from
    the quote's words in another order ("Hamas freed 200 prisoners" from "Hamas freed hostages for 200
    prisoners") loses. 0.0 for a claim without content words: it says nothing that can be checked.

    >>> support_score("Kirby is the national security spokesman.", ["John Kirby, the national security spokesman, spoke."])
    1.0
    >>> support_score("Kirby resigned in protest.", ["John Kirby, the national security spokesman, spoke."])
    0.1667
    >>> support_score("The spokesman is national security Kirby.", ["John Kirby, the national security spokesman, spoke."])
    0.6667
    """
    own = stem_sequence(claim)
    if not own:
        return 0.0
    sequences = [stem_sequence(q) for q in quotes]
    held = {w for seq in sequences for w in seq}
    words = sum(1 for w in own if w in held) / len(own)
    pairs = list(zip(own, own[1:]))
    if not pairs:
        return round(words, 4)
    near = set().union(*(near_pairs(seq) for seq in sequences))
    return round((words + sum(1 for p in pairs if p in near) / len(pairs)) / 2, 4)


def check(claim: str, cited: Sequence[int], given: Sequence[str], threshold: float = SUPPORT_THRESHOLD) -> Claim:
    """The check of one claim that cites sentence numbers ``cited`` of the numbered ``given`` (from 1).

    >>> given = ["John Kirby is the national security spokesman.", "Six soldiers were killed on Monday."]
    >>> check("Kirby is the national security spokesman.", [1], given).supported
    True
    >>> c = check("Seven soldiers were killed on Monday.", [2], given); c.supported, c.missing
    (False, ('7',))
    >>> c = check("Six soldiers were killed on Monday.", [], given); c.supported, c.cited, c.attributed
    (True, (2,), True)
    >>> check("Kirby is the spokesman.", [3], given).reason
    'cites [3], which it was not given'
    """
    bad = [n for n in cited if not 1 <= n <= len(given)]
    if bad:
        return Claim(claim, tuple(cited), False, 0.0, reason=f"cites {', '.join(f'[{n}]' for n in bad)}, which it was not given")
    if not cited:
        scored = [check(claim, [n], given, threshold) for n in range(1, len(given) + 1)]
        best = max(scored, key=lambda c: (c.supported, c.score), default=None)
        if best is not None and best.supported:
            return Claim(claim, best.cited, True, best.score, attributed=True)
        return Claim(claim, (), False, 0.0, reason="cites no sentence, and no given sentence supports it")
    if not stem_sequence(claim):
        return Claim(claim, tuple(cited), False, 0.0, reason="it says nothing that can be checked")
    quotes = [given[n - 1] for n in cited]
    lost = missing(claim, quotes)
    score = support_score(claim, quotes)
    if lost:
        return Claim(claim, tuple(cited), False, score, lost, f"not in the cited sentences: {', '.join(lost)}")
    if score < threshold:
        return Claim(claim, tuple(cited), False, score, reason=f"support {score:.2f} is under {threshold:.2f}")
    return Claim(claim, tuple(cited), True, score)


def check_reply(reply: str, given: Sequence[str], threshold: float = SUPPORT_THRESHOLD) -> list[Claim]:
    """Every sentence of a model's reply, checked against the numbered ``given`` sentences.

    >>> given = ["John Kirby is the national security spokesman.", "Six soldiers were killed on Monday."]
    >>> [(c.supported, c.cited) for c in check_reply("Kirby is the national security spokesman [1]. "
    ...                                              "He said 300 soldiers died in Rafah [2].", given)]
    [(True, (1,)), (False, (2,))]
    """
    return [check(text, cited, given, threshold) for text, cited in split_claims(reply)]


def is_refusal(reply: str) -> bool:
    """The model says the sentences do not answer (and cites nothing).

    >>> is_refusal("The articles do not answer this question."), is_refusal("Kirby does not say [1].")
    (True, False)
    """
    return bool(_REFUSALS.search(reply)) and not _MARKER.search(reply)

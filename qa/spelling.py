"""Spelling, for matching only: one spelling for words English writes two ways ("defence"/"defense",
"labour"/"labor"), and a misspelt question word ("cesefire", "netanyhu") read as the word it misspells.

Two ways of writing a word: the stems the answerer compares are taken from the American spelling, the
keyword query carries each word's other spelling, and the index's term counts are read with both (the
index keeps each article's own spelling). The list is breame's (Apache-2.0): about 1,700 British words
with their American spelling; a word it does not list is left as it is, and a name spelt like a listed
word is matched like it (the Australian Labor party and "labour" are one word here).

Misspellings: a question word the corpus never uses, and that is not a word the model knows whole, is
replaced by a word of the retrieved passages within one edit of it (two for long words), before the
question is searched again (``corrected``). No text shown to the reader is respelt.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache

_WORD = re.compile(r"(?u)\b\w\w+\b")  # the keyword index's words (qa.evidence._TOKEN)


@lru_cache(maxsize=1)
def _british() -> Mapping[str, str]:
    from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

    return BRITISH_ENGLISH_SPELLINGS


@lru_cache(maxsize=1)
def _american() -> Mapping[str, str]:
    from breame.data.spelling_constants import AMERICAN_ENGLISH_SPELLINGS

    return AMERICAN_ENGLISH_SPELLINGS


def american_spellings() -> Mapping[str, str]:
    """British spelling -> American spelling, the mapping itself: a caller that respells many words
    looks each up (``.get(word, word)``) without a call per word.

    >>> [american_spellings().get(w, w) for w in ("defence", "defense", "organisation", "soldiers")]
    ['defense', 'defense', 'organization', 'soldiers']
    """
    return _british()


def other_spelling(word: str) -> str | None:
    """The other spelling of a lowercased ``word`` English writes two ways, or None.

    >>> other_spelling("defence"), other_spelling("center"), other_spelling("soldiers")
    ('defense', 'centre', None)
    """
    return _british().get(word) or _american().get(word)


def replace_words(text: str, replacement: Callable[[str], str | None]) -> str:
    """``text`` with each word for which ``replacement`` (given the word lowercased) has another, that
    other word, capitalised where the word was.

    >>> replace_words("Defence and centre", other_spelling)
    'Defense and center'
    """
    def one(match: re.Match) -> str:
        word = match.group()
        new = replacement(word.lower())
        if new is None:
            return word
        return new.capitalize() if word[0].isupper() else new

    return _WORD.sub(one, text)


def other_spellings(text: str) -> list[str]:
    """The other spelling of each word of ``text`` that English writes two ways, once each: added to a
    keyword query, it finds the articles that spell the word the other way.

    >>> other_spellings("Who heads Israel's Defence Ministry? Is the defence minister at the centre?")
    ['defense', 'center']
    >>> other_spellings("How many soldiers were killed?")
    []
    """
    out: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        other = other_spelling(word)
        if other and other not in out:
            out[other] = None
    return list(out)


def fold_counts(counts: Mapping[str, int], stem_words: Callable[[Sequence[str]], Sequence[str]]) -> dict[str, int]:
    """Counts keyed by stem (the keyword index's document frequencies) with each British stem's count
    also added to its American stem's, so that a stem taken from ``american`` spellings counts the
    articles that spell it either way. ``stem_words`` is the index's stemmer. The British stem keeps its
    own count: a word outside the list can share it ("programmer" and "programme" both stem to
    "programm").

    >>> import Stemmer
    >>> fold_counts({"programm": 2, "program": 3, "defenc": 1, "war": 5}, Stemmer.Stemmer("english").stemWords)
    {'programm': 2, 'program': 5, 'defenc': 1, 'war': 5, 'defens': 1}
    """
    folded = dict(counts)
    for british, american_stem in _stem_pairs(stem_words).items():
        if british in counts:
            folded[american_stem] = folded.get(american_stem, 0) + counts[british]
    return folded


def _stem_pairs(stem_words: Callable[[Sequence[str]], Sequence[str]]) -> dict[str, str]:
    """Each British word's stem -> its American spelling's stem, where the two differ."""
    british = list(_british())
    pairs = zip(stem_words(british), stem_words([_british()[w] for w in british]))
    return {b: a for b, a in pairs if b != a}


MIN_LETTERS = 5  # shorter words are too often another word one edit away ("iran", "iraq")
LONG_WORD = 9  # from this length two edits are allowed ("seceratary"; not "commbank", a bank)


def corrected(question: str, misspelt: Iterable[str], words: Iterable[str]) -> str | None:
    """``question`` with each of ``misspelt`` (lowercased words of it) replaced by the nearest of ``words``
    within one edit, two for words of ``LONG_WORD`` letters or more (a swap of two letters is one
    edit); ties go to the earlier of ``words``. None when no word is near.

    >>> corrected("What did Netanyhu say of the cesefire?", ["netanyhu", "cesefire"], ["netanyahu", "ceasefire"])
    'What did Netanyahu say of the ceasefire?'
    >>> corrected("who is blinkov", ["blinkov"], ["blinken"]) is None  # two edits on a short word: another name
    True
    """
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    choices = list(dict.fromkeys(w for w in words if len(w) >= MIN_LETTERS - 1))
    fixes = {}
    for word in misspelt:
        if len(word) < MIN_LETTERS:
            continue
        best = process.extractOne(word, choices, scorer=OSA.distance,
                                  score_cutoff=2 if len(word) >= LONG_WORD else 1)
        if best and best[0] != word:
            fixes[word] = best[0]
    return replace_words(question, fixes.get) if fixes else None

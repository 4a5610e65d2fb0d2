"""One spelling for words English writes two ways ("defence"/"defense", "labour"/"labor", "organise"/
"organize"), so that a question typed in one matches an article written in the other.

It changes only how words are matched: the stems the answerer compares, the keyword query and the
index's term counts read with it. No text shown to the reader is respelt, and the index keeps each
article's own spelling. The word list is breame's (Apache-2.0): about 1,700 British words with their
American spelling. A word it does not list is left as it is; a name spelt like a listed word is
matched like it (the Australian Labor party and "labour" are one word here).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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


def american(word: str) -> str:
    """The American spelling of a lowercased ``word``, or the word itself.

    >>> american("defence"), american("defense"), american("organisation"), american("soldiers")
    ('defense', 'defense', 'organization', 'soldiers')
    """
    return _british().get(word, word)


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
        other = _british().get(word) or _american().get(word)
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

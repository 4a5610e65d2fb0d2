"""What a question asks for and what a sentence holds: answer types, content terms, same facts; pure.

The kind of answer asked for (a number for "how many", a name for "who", a day for "when") and whether
a sentence holds one; whether two sentences state the same fact. Tokens are those of the BM25 index
(lowercased, stopwords dropped, Snowball-stemmed). Scoring and choosing are in ``qa.signals`` and
``qa.selector``; nothing here loads a model or reads the store.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from qa.spelling import american_spellings

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty "
                 "fifty hundred hundreds thousand thousands million millions billion dozen dozens scores").split()
_NUMBER = re.compile(r"\b\d(?:[\d,.]*\d)?|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_TIME = re.compile(r"\b(" + _WEEKDAYS + "|" + _MONTHS + r"|yesterday|today|week|month|year|night|"
                   r"morning|evening|days?|\d{4})\b", re.IGNORECASE)
_CALENDAR = re.compile(r"\b(?:" + _WEEKDAYS + "|" + _MONTHS + r")\b", re.I)
# a day of the month beside its month: "January 2", "2 January", "January 2, 2024"
_DAY_AFTER = re.compile(r"\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,?\s+\d{4}\b)?")
_DAY_BEFORE = re.compile(r"\b\d{1,2}(?:st|nd|rd|th)?\s+$")
_DAY_OF_MONTH = re.compile(r"\b(?:" + _MONTHS + r")\s+(\d{1,2})\b", re.I)  # the 7 of "October 7" is a date
_ROLES = ("spokesman|spokeswoman|spokesperson|minister|president|secretary|chief|leader|commander|prime|senator|"
          "ambassador|envoy|official|officer|judge|general|head|chairman|premier|mayor|governor|king|prince|pope|"
          "scientist|director|executive|manager|lawyer|spokesman")
# A name: two or more capitalised words; a sentence-initial function word ("The", "In") is not part of it.
_PERSON = re.compile(r"\b(?!(?:The|A|An|In|On|At|But|And|However|Meanwhile|After|Before|When|While|This|That|"
                     r"Mr|Mrs|Ms|Dr)\b)[A-Z][a-z]+(?:[ -](?:[A-Z]\.\s)?[A-Z][a-z]+)+\b|\b(" + _ROLES + r")\b")
_FIGURE = re.compile(r"\b\d[\d,.]*\d\b")  # a figure of two digits or more: 23,000 / 1,200 / 130
_PLACE = re.compile(r"\b(in|at|to|from|for|near)\s+(the\s+)?[A-Z][a-z]+")
_DURATION = re.compile(r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many)[\s-]+"
                       r"(?:second|minute|hour|day|week|month|year)s?\b|\b\w+-(?:minute|hour|day|week|month|year)-long\b",
                       re.IGNORECASE)
_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
_OCCASIONS = ("time", "trip", "visit", "tour", "journey", "occasion")  # what "how many ..." counts as occasions
_OCCASION = r"(?:" + "|".join(_OCCASIONS) + r")s?"
# How often something happened: "twice", "three visits", or an ordinal of the occasion ("his fourth trip")
_TIMES = re.compile(r"\b(?:once|twice|(?:\d+|several|many|one|two|three|four|five|six|seven|eight|nine|ten)\s+" +
                    _OCCASION + r"|(?:" + "|".join(_ORDINALS) + r"|\d+(?:st|nd|rd|th))\s+(?:[\w'’-]+\s+)?" +
                    _OCCASION + r")\b", re.IGNORECASE)
# "When" asks for a time where it opens the question or a clause of it ("..., and when were they
# freed?"); after a clause it joins another one ("What did he say when they met?") and asks nothing.
_ASKS_TIME = re.compile(r"(?:^\W*|[,;:—–-]\s*|\b(?:and|but|so|or|then|since|until)\s+)when\b|"
                        r"\b(?:what (?:day|date|time|year)|which (?:day|date|year))\b", re.I)
ANSWER_TYPES = {
    "duration": (re.compile(r"\bhow long\b", re.I), _DURATION),
    "times": (re.compile(r"\bhow (many (" + "|".join(w + "s" for w in _OCCASIONS) + r")|often)\b", re.I), _TIMES),
    "number": (re.compile(r"\b(how (many|much|old)|what number|death toll|what (is|was) the (toll|number))\b", re.I), _NUMBER),
    "time": (_ASKS_TIME, _TIME),
    "person": (re.compile(r"\b(who|whom|whose|(which|what) (\w+ )?(" + _ROLES + r")|name of the (man|woman|person|boy|girl))\b",
                          re.I), _PERSON),
    "place": (re.compile(r"\b(where|which (city|country|countries|town|towns|place))\b", re.I), _PLACE),
}

NEAR_DUPLICATE = 0.5  # share of content terms two sentences must share to be "the same fact"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def stem_words(words: Sequence[str]) -> list[str]:
    """The stems of lowercased ``words``, each taken from its American spelling (``qa.spelling``) so
    that "defence" and "defense" match; every stem the answerer compares comes from here.

    >>> stem_words(["defence", "defense", "ministers"])
    ['defens', 'defens', 'minist']
    """
    spelling = american_spellings()  # the mapping itself: one lookup a word, no call
    return _stemmer().stemWords([spelling.get(w, w) for w in words])


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stopwords (shipped inside llama-index-core, read as the file it is: importing
    llama_index.core to get them costs about 2 s at start) and bm25s's: the index keeps some of
    NLTK's ("has", "he"), which are no evidence of an answer."""
    import importlib.util
    from pathlib import Path

    from bm25s.stopwords import STOPWORDS_EN

    core = Path(importlib.util.find_spec("llama_index.core").origin).parent
    nltk = (core / "_static" / "nltk_cache" / "corpora" / "stopwords" / "english").read_text(encoding="utf-8")
    return frozenset(STOPWORDS_EN) | frozenset(nltk.split())


@lru_cache(maxsize=65536)
def terms(text: str) -> tuple[str, ...]:
    """Content terms of ``text`` as the BM25 index has them, in one spelling (``stem_words``).

    >>> terms("The death toll has surpassed 23,000 people")
    ('death', 'toll', 'surpass', '23', '000', 'peopl')
    """
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stopwords()]
    return tuple(stem_words(words))


def answer_type(question: str) -> str | None:
    """The kind of answer a question asks for, if it asks for one we can recognise.

    >>> answer_type("How many hostages remain?"), answer_type("Who is John Kirby?"), answer_type("Why?")
    ('number', 'person', None)
    >>> answer_type("Which Democrats senator wants a deal?"), answer_type("How long did the talks last?")
    ('person', 'duration')
    >>> answer_type("How many times has Blinken been to Israel?")  # a count of occasions: "his fourth trip"
    'times'
    >>> answer_type("How many time zones does Russia have?")
    'number'
    >>> answer_type("so when did he land"), answer_type("What did he say when they met?")
    ('time', None)

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
    >>> holds_type("person", "Ismail Haniyeh, Hamas’s political leader, said so.", "Who said so?")
    True
    >>> holds_type("person", "The Israeli army said so.", "Who said so?")
    False
    >>> holds_type("duration", "He ended an eight-day tour of the region.", "How long was his tour?")
    True
    """
    return bool(fillers(kind, sentence) - fillers(kind, question))


_FOCUS = re.compile(r"\bhow (?:many|much)\s+((?:[\w'’-]+\s+){0,2}[\w'’-]+)|\b(death toll|toll)\b", re.IGNORECASE)
_NEAR = 5  # words between a figure and what it counts, at most ("killed 40 Islamist fighters")


def focus(question: str) -> list[str]:
    """What a "how many" question counts: the words after "how many", or "death toll".

    >>> focus("How many aid trucks got into Gaza?"), focus("what's the death toll?"), focus("Who?")
    (['aid', 'trucks', 'got'], ['death', 'toll'], [])
    """
    match = _FOCUS.search(question)
    return (match.group(1) or match.group(2)).lower().split() if match else []


def typed_near(kind: str | None, sentence: str, question: str, focus_stems: frozenset[str]) -> bool:
    """Whether a new answer of ``kind`` stands within a few words of what the question counts (any of
    ``focus_stems``): "how many aid trucks" is not answered by "six soldiers". Without a focus, this
    is ``holds_type``.

    >>> s = stem_words
    >>> typed_near("number", "Israel said six soldiers were killed.", "How many aid trucks?", frozenset(s(["aid", "truck"])))
    False
    >>> typed_near("number", "About 200 aid trucks entered.", "How many aid trucks?", frozenset(s(["aid", "truck"])))
    True
    """
    if not focus_stems:
        return holds_type(kind, sentence, question)
    if kind is None:
        return False
    given = fillers(kind, question)
    near = [i for i, stem in enumerate(_token_stems(sentence)) if stem in focus_stems]
    for match in ANSWER_TYPES[kind][1].finditer(sentence):
        if match.group().lower() in given:
            continue
        at = len(_TOKEN.findall(sentence[: match.start()].lower()))
        if any(abs(at - i) <= _NEAR for i in near):
            return True
    return False


@lru_cache(maxsize=65536)  # the same sentences come back question after question
def _token_stems(sentence: str) -> tuple[str, ...]:
    """The stems of every word of ``sentence``, stopwords included (``typed_near`` counts words between)."""
    return tuple(stem_words(_TOKEN.findall(sentence.lower())))


@lru_cache(maxsize=65536)  # the same sentences come back question after question
def fillers(kind: str | None, text: str) -> frozenset[str]:
    """The answers of ``kind`` that ``text`` holds (figures, names, days, places), lowercased.

    >>> sorted(fillers("number", "More than 130 hostages; 24 dead."))
    ['130', '24']
    >>> sorted(fillers("times", "It is his fourth trip since October, after two visits in May and 40 meetings."))
    ['fourth trip', 'two visits']
    >>> fillers(None, "Anything")
    frozenset()
    """
    if kind is None:
        return frozenset()
    return frozenset(m.group().lower() for m in ANSWER_TYPES[kind][1].finditer(text))


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Stems of words that say what kind of answer is wanted, not what it is about: never evidence."""
    words = ("who whom whose what when where which why how many much did does do is are was were "
             "according article articles report reports say says tell "
             # nouns that name the kind of answer ("in which city", "what kind of"), not its topic
             "city cities country countries town towns place day date year kind sort").split()
    return frozenset(stem_words(words))


def same_answer(kind: str | None, a: str, b: str) -> bool:
    """Whether two sentences give the same answer of ``kind`` (a figure, a name) about the same thing:
    they share such an answer and at least two other content terms (a shared "19" alone is chance).

    >>> same_answer("number", "The toll passed 23,000 in Gaza.", "Greater than 23,000 folks died in Gaza.")
    False
    >>> same_answer("number", "Hamas holds more than 130 hostages in Gaza.", "Over 130 hostages remain in Gaza.")
    True
    >>> same_answer("number", "HIV infection is 19 per cent.", "Child mortality fell to 19 percent.")
    False
    >>> same_answer("number", "Since the October 7 attack by Hamas, 240 Palestinians were killed.",
    ...             "The October 7 attack by Hamas caused some 1,200 deaths.")  # a day of the month is no answer
    False
    """
    shared = fillers(kind, a) & fillers(kind, b) if kind in ("number", "person") else set()
    if kind == "number":
        shared -= {m.group(1) for text in (a, b) for m in _DAY_OF_MONTH.finditer(text)}
    return bool(shared) and _shared_besides(set(terms(a)), set(terms(b)), shared) >= 2


def _shared_besides(ta: set[str], tb: set[str], answers: set[str]) -> int:
    """How many content terms two sentences (terms ``ta``, ``tb``) share besides those of ``answers``."""
    return len((ta & tb) - set(terms(" ".join(answers))))


def same_fact(a: str, b: str) -> bool:
    """Whether two sentences state the same fact closely enough to share one answer line.

    >>> same_fact("Blinken stressed avoiding civilian harm in Gaza.", "Blinken stressed the importance of avoiding civilian harm in Gaza")
    True
    >>> same_fact("The death toll in Gaza has surpassed 23,000.", "In Gaza, greater than 23,000 folks died.")
    True
    >>> same_fact("The HIV rate in Malawi is 19 per cent.", "Child mortality rates fell to 19 percent.")
    False
    >>> same_fact("Since the October 7 attack by Hamas, nearly 240 Palestinians were killed in the West Bank.",
    ...           "The October 7 attack by Hamas on Israel caused some 1,200 deaths.")  # other figures: other facts
    False
    """
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        return False
    in_a, in_b = set(_FIGURE.findall(a)), set(_FIGURE.findall(b))
    if in_a and in_b and not in_a & in_b:  # each gives figures and none is the other's: not one fact said twice
        return False
    figures = in_a & in_b
    if figures:  # the same figure said in other words is the same fact, if it is about the same thing:
        # a large figure ("23,000") and one more shared term, or a small one ("19") and two more
        if _shared_besides(ta, tb, figures) >= (1 if any(len(re.sub(r"\D", "", f)) >= 3 for f in figures) else 2):
            return True
    return len(ta & tb) / min(len(ta), len(tb)) >= NEAR_DUPLICATE and len(ta & tb) >= 3


_QUALIFIER = re.compile(r"(?:more than|less than|fewer than|greater than|at least|at most|up to|about|around|"
                        r"approximately|nearly|almost|over|some|an estimated)\s+$", re.IGNORECASE)
_UNIT = re.compile(r"^\s+(?:per ?cent|percent)\b", re.IGNORECASE)
# a role's title: capitalised words, then at most two lower-case ones ("White House national security")
_TITLE_WORD = re.compile(r"(?:[A-Z][\w'’.-]*\s+)+(?:[a-z][\w'’-]*\s+){0,2}$")
_NAME_WORDS = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
_ROLE_WORDS = frozenset(_ROLES.split("|"))


def _answers(kind: str, sentence: str) -> list[tuple[int, int]]:
    """Spans of answers of ``kind`` in ``sentence``; adjacent ones ("2 million", "Monday night") joined,
    a month with its day ("January 2"), a place without its preposition and with all its capitalised
    words ("Khan Younis") but no day after it ("in Qatar Tuesday").

    >>> s = "He landed on Monday night, after Arouri was killed on January 2, 2024 in Beirut Tuesday."
    >>> [s[a:b] for a, b in _answers("time", s)]
    ['Monday night', 'January 2, 2024', 'Tuesday']
    >>> [s[a:b] for a, b in _answers("place", s)]
    ['Beirut']
    """
    spans: list[tuple[int, int]] = []
    for match in ANSWER_TYPES[kind][1].finditer(sentence):
        start, end = match.span()
        if kind == "place":
            name = _NAME_WORDS.match(sentence, match.end() - len(match.group().split()[-1]))
            start, end = name.span()
            if day := _CALENDAR.search(sentence, start + 1, end):  # "Qatar Tuesday": the place ends before the day
                end = len(sentence[:day.start()].rstrip())
        if kind == "time" and re.fullmatch(_MONTHS, match.group(), re.I):
            if after := _DAY_AFTER.match(sentence, end):
                end = after.end()
            if before := _DAY_BEFORE.search(sentence[:start]):
                start = before.start()
        if spans and start < spans[-1][1]:
            continue  # already inside the one before ("2024" of "January 2, 2024")
        if spans and kind in ("number", "time") and not sentence[spans[-1][1]: start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def short_span(kind: str | None, sentence: str, question: str, near_stems: frozenset[str]) -> tuple[int, int] | None:
    """Where in ``sentence`` the short answer of ``kind`` is: (start, end) of the figure, name, day or
    place the question does not already give, the one nearest a word of ``near_stems`` (what the
    question asks about). A figure keeps its qualifier ("more than"); for "who is <name>" a role with
    its title is the answer, for other "who" questions a name is preferred to a role. None without one.

    >>> s = "Gallant proposed they wait until the more than 130 hostages still held by Hamas are released."
    >>> a, b = short_span("number", s, "How many hostages does Hamas hold?", frozenset({"hostag"})); s[a:b]
    'more than 130'
    >>> s = "State Department spokesman Matthew Miller said so."
    >>> a, b = short_span("person", s, "Who is Matthew Miller?", frozenset({"matthew", "miller"})); s[a:b]
    'State Department spokesman'
    >>> s = "White House national security spokesman John Kirby said so."
    >>> a, b = short_span("person", s, "Who is John Kirby?", frozenset({"john", "kirbi"})); s[a:b]
    'White House national security spokesman'
    >>> s = "Ismail Haniyeh, Hamas’s political leader, has said so."
    >>> a, b = short_span("person", s, "Who leads Hamas politically?", frozenset({"lead", "hama"})); s[a:b]
    'Ismail Haniyeh'
    >>> s = "About 2 million people were displaced in Gaza."
    >>> a, b = short_span("number", s, "How many people were displaced?", frozenset({"peopl"})); s[a:b]
    'About 2 million'
    >>> s = "He will meet Abbas in Ramallah before he departs for Cairo."
    >>> a, b = short_span("place", s, "Where does he go after Ramallah?", frozenset({"ramallah"})); s[a:b]
    'Cairo'
    >>> short_span(None, "Yes, it did.", "Did it?", frozenset()) is None
    True
    """
    if kind is None:
        return None
    named = {question[a:b].lower() for a, b in _answers(kind, question)} - _ROLE_WORDS  # names the question gives
    given = named | {m.group().lower() for m in _NAME_WORDS.finditer(question) if m.start() > 0}
    tokens = list(_TOKEN.finditer(sentence.lower()))
    stems = stem_words([t.group() for t in tokens])
    anchors = [t.start() for t, stem in zip(tokens, stems) if stem in near_stems]
    found = [(a, b) for a, b in _answers(kind, sentence)
             if not any(sentence[a:b].lower() in g for g in given)]
    if kind == "person":  # "who is <name>?" asks for a role; "who did X?" for a name
        wanted = [(a, b) for a, b in found if (sentence[a:b].lower() in _ROLE_WORDS) == bool(named)]
        found = wanted or found
    if not found:
        return None
    start, end = min(found, key=lambda span: min((abs(span[0] - at) for at in anchors), default=0))
    if kind == "number":
        if qualifier := _QUALIFIER.search(sentence[:start]):
            start = qualifier.start()
        if unit := _UNIT.match(sentence[end:]):
            end += unit.end()
    elif kind == "person" and sentence[start:end].lower() in _ROLE_WORDS:
        if title := _TITLE_WORD.search(sentence[:start]):
            start = title.start()
    return start, end

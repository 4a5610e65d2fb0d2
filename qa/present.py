"""How a cited article and sentence are shown to a reader: its headline or "untitled", its date or
"date not stated", which date a weekday in it means, who a leading pronoun is, and the words before an
answer given as unsure.

Pure functions over text; they never change an answer, its quotes or their offsets (what they add is
shown beside the quote, visibly not part of it). They do not read the index.
"""
from __future__ import annotations

import math
import re
from datetime import date, timedelta

from qa.types import Answer

DATE_NOT_STATED = "date not stated"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY = re.compile(r"\b(?:on|last|this|since|by|until|from|early|late)\s+(" + "|".join(_WEEKDAYS) + r")\b")
_PRONOUN = re.compile(r"^(He|She|They)\b")
# a run of capitalised words (a name), e.g. "Antony Blinken", "Isaac Herzog"
_NAME = re.compile(r"\b[A-Z][a-z’'.-]+(?:\s+[A-Z][a-z’'.-]+)*")
_NOT_NAMES = {"The", "A", "An", "In", "On", "At", "It", "This", "That", "These", "Those", "He", "She", "They",
              "We", "I", "But", "And", "As", "While", "When", "After", "Before", "However", "According", "Visiting",
              "Secretary", "State", "Prime", "Minister", "President", "US", "U.S.", "United", "States", "Israel",
              "Israeli", "Gaza", "Hamas", "Palestinian", "Palestinians", "American", "Arab", "Tel", "Aviv",
              "Jerusalem", "West", "Bank", "Strip", "October", "November", "December", "January", *_WEEKDAYS}
_SENTENCE_BREAK = re.compile(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])|\n+")


def display_title(title: str, text: str) -> str:
    """The headline of an article, or "Untitled: " and its opening words when its title was only
    derived from its first sentence (the line holding it goes on past the title).

    >>> display_title("Big News Today", "Big News Today\\nBlinken met Netanyahu.")
    'Big News Today'
    >>> display_title("Blinken met Netanyahu in…", "Blinken met Netanyahu in Tel Aviv on Tuesday.")
    'Untitled: Blinken met Netanyahu in…'
    """
    bare = title.rstrip("…").strip()
    if not bare:
        return "Untitled"
    at = text.find(bare)
    if at < 0:
        return title
    line_end = text.find("\n", at)
    rest = text[at + len(bare): len(text) if line_end < 0 else line_end].strip()
    return f"Untitled: {title}" if rest and rest != "|" and not rest.startswith("|") else title


def date_label(published: str | None) -> str:
    """The publication date as shown, or "date not stated".

    >>> date_label("2023-10-11"), date_label(None)
    ('2023-10-11', 'date not stated')
    """
    return published or DATE_NOT_STATED


def weekday_dates(sentence: str, published: str | None) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of each "on Wednesday"-like weekday in ``sentence``: the latest such day
    on or before the article's publication date (news reports past days by weekday). None without a
    full date.

    >>> weekday_dates("Blinken arrived on Wednesday.", "2023-10-12")
    [(19, 28, '2023-10-11')]
    >>> weekday_dates("Blinken arrived on Wednesday.", None)
    []
    """
    try:
        day = date.fromisoformat(published or "")
    except ValueError:
        return []
    found = []
    for m in _WEEKDAY.finditer(sentence):
        back = (day.weekday() - _WEEKDAYS.index(m.group(1))) % 7
        found.append((m.start(1), m.end(1), (day - timedelta(days=back)).isoformat()))
    return found


def pronoun_referent(text: str, start: int) -> tuple[str, str] | None:
    """(pronoun, name) when the sentence at ``text[start:]`` opens with he/she/they: of the names in
    the nearest preceding sentence that has one, the one the article has mentioned most so far (its
    surname counted), then the one of more words (a full name over a capitalised noun), then the
    first. A guess, shown as one. None otherwise.

    >>> t = "Blinken, on his third trip, spoke. He made the remarks in Tel Aviv."
    >>> pronoun_referent(t, t.index("He"))
    ('He', 'Blinken')
    >>> t = "Blinken flew in. Meeting Benjamin Netanyahu, Blinken spoke. He left."
    >>> pronoun_referent(t, t.index("He"))
    ('He', 'Blinken')
    >>> pronoun_referent(t, 0) is None
    True
    """
    m = _PRONOUN.match(text[start:])
    if not m:
        return None
    before = text[max(0, start - 2000):start]
    sentences = [s for s in _SENTENCE_BREAK.split(before) if s.strip()]
    for sentence in reversed(sentences):
        names = []
        for name in _NAME.finditer(sentence):
            words = [w for w in name.group().split() if w not in _NOT_NAMES]
            if words:
                names.append(" ".join(words))
        if names:
            return m.group(1), max(names, key=lambda n: (before.count(n.split()[-1]), len(n.split())))
    return None


def unsure_line(answer: Answer) -> str:
    """What is said before an answer given as unsure (``Answer.unsure``), "" before any other.

    >>> unsure_line(Answer("Q?", "Closest. [1]", False, confidence=0.39, unsure=True))
    'Not sure: this is the closest the articles come, and it may not answer the question (confidence 0.39).'
    >>> unsure_line(Answer("Q?", "Sure. [1]", False, confidence=0.9))
    ''
    >>> unsure_line(Answer("Q?", "Closest. [1]", False, confidence=0.4996, unsure=True))[-18:]  # under 0.5: not "0.50"
    '(confidence 0.49).'
    """
    if not answer.unsure:
        return ""
    shown = math.floor(answer.confidence * 100) / 100  # rounded down: an answer under 0.5 never reads "0.50"
    return (f"Not sure: this is the closest the articles come, and it may not answer the question "
            f"(confidence {shown:.2f}).")


def read_as_line(answer: Answer) -> str:
    """What is said before an answer to a question read with a misspelt word taken for another
    (``Answer.read_as``), "" before any other.

    >>> read_as_line(Answer("Who is John Kriby?", "Kirby is ... [1]", False, read_as="Who is John Kirby?"))
    'Read as: "Who is John Kirby?"'
    >>> read_as_line(Answer("Who is John Kirby?", "Kirby is ... [1]", False))
    ''
    """
    return f'Read as: "{answer.read_as}"' if answer.read_as else ""

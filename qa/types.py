"""The values ``ask()`` returns: passages, citations and the answer; plain frozen data, no behaviour."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: ``original[start:end] == text`` for the article ``source``."""

    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    outlet: str | None = None
    chunk_id: str = ""


@dataclass(frozen=True)
class Citation:
    """A sentence (or span) that supports the answer: ``original[start:end] == quote``."""

    number: int  # the [n] marker in the answer text
    source: str
    title: str
    quote: str
    start: int
    end: int
    score: float
    outlet: str | None = None
    passage_start: int = 0  # the passage the quote was found in, for showing it in context
    passage_end: int = 0


@dataclass(frozen=True)
class ShortAnswer:
    """The figure, name, day or place that answers the question, inside the first cited sentence:
    ``original[start:end] == text`` for the article ``source``."""

    text: str
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """What the reader gets: ``text`` with [n] markers, its citations, and the passages retrieved."""

    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    confidence: float = 0.0
    query: str = ""  # what was searched: the question, plus what a follow-up leans on
    short: ShortAnswer | None = None  # when the question asks for a figure, name, day or place

    def to_dict(self) -> dict:
        return asdict(self)

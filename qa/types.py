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
    date: str | None = None  # the article's publication date (YYYY-MM-DD, or YYYY), None when it states none


@dataclass(frozen=True)
class ShortAnswer:
    """The figure, name, day or place that answers the question, inside the first cited sentence:
    ``original[start:end] == text`` for the article ``source``."""

    text: str
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer and its check against the sentences it cites (``qa.claims``).

    ``supported`` is true only when every figure and name of ``text`` occurs in the sentences it cites
    and ``score`` (the share of its content words they hold) reaches the threshold. ``cited``: for a
    supported claim, the answer's citation numbers; for an unsupported one, the numbers the model gave
    (of the sentences it was shown), which are not the answer's citations.
    """

    text: str  # the sentence as the model wrote it, without its [n] markers
    cited: tuple[int, ...]
    supported: bool
    score: float
    missing: tuple[str, ...] = ()  # figures and names not found in the cited sentences
    reason: str = ""  # why it is not supported ("" when it is)
    attributed: bool = False  # the model gave no marker; the project found the sentence that supports it


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
    mode: str = "extractive"  # "generated": written by the configured LLM, every sentence of it checked
    claims: tuple[Claim, ...] = ()  # the generated sentences and their checks, unsupported ones included
    note: str = ""  # why a configured LLM's answer is not the one given (error, timeout, nothing supported)
    # answered, but more likely wrong than right by its own confidence (under qa.selector.UNSURE_BELOW):
    # the closest sentence the articles have, to be shown as such, not as a sure answer
    unsure: bool = False
    # the question as it was read, when a misspelt word of it was taken for a word of the articles
    # ("Netanyhu" for "Netanyahu", qa.spelling.corrected); "" when it was read as typed
    read_as: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

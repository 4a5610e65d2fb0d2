"""Value types that carry an article through reading, cleaning and chunking; no behaviour, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` of an article's original text."""

    start: int
    end: int


@dataclass(frozen=True)
class Article:
    """One corpus file as read: ``text`` is the original text every offset points into.

    For ``.txt``/``.md`` files it is the decoded file; for HTML it is the text a parser extracted.
    """

    source: str
    text: str
    sha256: str
    title: str
    outlet: str | None = None
    date: str | None = None
    body: tuple[Span, ...] = ()  # cleaned article text, as spans of ``text``
    removed: tuple[tuple[Span, str], ...] = ()  # boilerplate spans with the rule that removed them


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``article.text[start:end] == text``, made of whole sentences."""

    id: str
    source: str
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...] = field(default=())


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why (shown in the index summary)."""

    source: str
    reason: str

"""Tell article text from web boilerplate, and read title, outlet and date off a news article.

Cleaning never rewrites text: it returns spans of the original text that stay (whole lines, sometimes
trimmed at an edge: a dateline, an outlet suffix, a trailing "■"), so that every later offset points
into the original file. It does not split sentences or chunk (see ``index.chunk``).
All the rules are in this module, each named, so the index summary and the tests can say which rule
removed what.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.types import Span

# Whole lines that are page furniture, not article text (matched against the stripped line, any case).
DROP_LINE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("comment-prompt", r"(leave a (comment|reply)|\d* ?comments?|post a comment)"),
        ("comment-form", r"your email address will not be published\.?(\s*required fields are marked \*)?"),
        ("read-also", r"(read also|also read|read more|see also|related( articles| stories)?|to know m\w{0,3})\s*:?"),
        ("subscribe", r"get real[- ]time updates.{0,60}subscribe now\.?|subscribe( now)?( to our newsletter)?\.?"),
        ("copyright", r"(©|\(c\)|copyright\b).{0,120}"),
        ("share", r"(share|tweet|share this( article)?|follow us( on \w+)?)\s*:?"),
        ("photo-credit", r"(photo|image|picture)s?( credit)?\s*:.{0,80}|\((photo|image)[^)]{0,60}\)"),
    )
)

_TOMBSTONE = re.compile(r"\s*[■□▪◼∎]+\s*$")
# "JERUSALEM | Xinhua | text" or "GAZA CITY (Reuters) - text"
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Z .,'’-]{1,40}?)\s*(?:\|\s*(?P<outlet>[A-Za-z][\w .&-]{0,30}?)\s*\||"
    r"\((?P<outlet2>[A-Za-z][\w .&-]{0,30})\)\s*[-–—])\s*"
)
_TITLE_OUTLET = re.compile(r"^(?P<title>.+?)\s+\|\s+(?P<outlet>[A-Z][\w .&-]{1,30})$")
_COPYRIGHT_OUTLET = re.compile(r"©\s*(?:copyright\s+)?(?P<outlet>[A-Z][\w&.-]*(?: [A-Z][\w&.-]*)*)\s+(?P<year>(19|20)\d{2})", re.IGNORECASE)
_CREDIT = re.compile(r"^\.?\s*[A-Z0-9][A-Z0-9 /&.,'’()-]{2,80}$")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_FULL_DATE = re.compile(rf"\b(?:({_MONTHS}) (\d{{1,2}}), (\d{{4}})|(\d{{1,2}}) ({_MONTHS}) (\d{{4}})|(\d{{4}})-(\d{{2}})-(\d{{2}}))\b")
_SENTENCE_END = re.compile(r"[.!?…\"”’:;]$")
# metadata lines: a Markdown front-matter block opening the file, and a "Date: ..." line near the top
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
DATE_LINE = re.compile(r"^(?:date|published|published on|posted|posted on|updated)\s*:\s*(?P<value>.+)$", re.IGNORECASE)

TITLE_MAX_WORDS = 25  # a headline; a longer first line is the article's first paragraph
DERIVED_TITLE_WORDS = 14


@dataclass(frozen=True)
class Cleaned:
    """What cleaning found: body spans, removed spans with their rule, and metadata."""

    body: tuple[Span, ...]
    removed: tuple[tuple[Span, str], ...]
    title: str
    outlet: str | None
    date: str | None


def lines_with_spans(text: str) -> list[Span]:
    """Spans of the non-blank lines of ``text``, without their surrounding white space.

    >>> lines_with_spans("  a b \\n\\nc")
    [Span(start=2, end=5), Span(start=8, end=9)]
    """
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group()
        stripped = line.strip()
        if stripped:
            start = match.start() + (len(line) - len(line.lstrip()))
            spans.append(Span(start, start + len(stripped)))
    return spans


def drop_rule(line: str) -> str | None:
    """The name of the rule that makes ``line`` boilerplate, or None for article text.

    >>> drop_rule("READ ALSO"), drop_rule("Blinken arrived in Israel on Friday.")
    ('read-also', None)
    """
    stripped = line.strip()
    for name, pattern in DROP_LINE_RULES:
        if pattern.fullmatch(stripped):
            return name
    return None


def is_caption_pair(line: str, next_line: str) -> bool:
    """True when ``next_line`` repeats ``line`` followed by an agency credit in capitals (a photo caption).

    >>> is_caption_pair("The head greets the president", "The head greets the president.GOVERNMENT PRESS OFFICE / EFE")
    True
    """
    line = line.strip()
    if not line or len(line.split()) > TITLE_MAX_WORDS or not next_line.startswith(line):
        return False
    return bool(_CREDIT.match(next_line[len(line):]))


def looks_like_title(line: str) -> bool:
    """A headline: short and not ended like a sentence.

    >>> looks_like_title("Blinken Urges Israel To Create Safe Zones In Gaza When Fighting Resumes")
    True
    >>> looks_like_title("Blinken arrived in Israel on Friday.")
    False
    """
    return len(line.split()) <= TITLE_MAX_WORDS and not _SENTENCE_END.search(line.strip())


def derive_title(sentence: str, max_words: int = DERIVED_TITLE_WORDS) -> str:
    """A title made from an article's first sentence when it has no headline.

    >>> derive_title("Blinken arrived in Israel on Friday, with the aim of urging restraint.", max_words=5)
    'Blinken arrived in Israel on…'
    """
    words = sentence.split()
    if len(words) <= max_words:
        return sentence.strip()
    return " ".join(words[:max_words]).rstrip(",;:") + "…"


def find_date(text: str) -> str | None:
    """The first full date written in ``text``, as ISO ``YYYY-MM-DD``.

    >>> find_date("Posted on January 9, 2024 by staff")
    '2024-01-09'
    """
    match = _FULL_DATE.search(text)
    if not match:
        return None
    g = match.groups()
    months = _MONTHS.split("|")
    if g[0]:
        return f"{g[2]}-{months.index(g[0]) + 1:02d}-{int(g[1]):02d}"
    if g[3]:
        return f"{g[5]}-{months.index(g[4]) + 1:02d}-{int(g[3]):02d}"
    return f"{g[6]}-{g[7]}-{g[8]}"


def clean(text: str) -> Cleaned:
    """Split an article into body spans and removed boilerplate, and read its metadata.

    >>> text = "Big News Today | Daily Planet\\nJERUSALEM | Xinhua | Blinken met Netanyahu. ■\\nREAD ALSO\\n"
    >>> c = clean(text)
    >>> c.title, c.outlet, [text[s.start:s.end] for s in c.body]
    ('Big News Today', 'Daily Planet', ['Blinken met Netanyahu.'])
    """
    lines = lines_with_spans(text)
    body: list[Span] = []
    removed: list[tuple[Span, str]] = []
    title: str | None = None
    outlet: str | None = None
    skip_next = False
    front = m.end() if (m := FRONT_MATTER.match(text)) else 0
    for i, span in enumerate(lines):
        if span.start < front:
            removed.append((span, "front-matter"))
            continue
        if not body and DATE_LINE.match(text[span.start:span.end]):
            removed.append((span, "date-line"))
            continue
        if skip_next:
            removed.append((span, "photo-credit"))
            skip_next = False
            continue
        line = text[span.start:span.end]
        rule = drop_rule(line)
        if rule:
            removed.append((span, rule))
            if rule == "copyright" and (m := _COPYRIGHT_OUTLET.search(line)):
                outlet = outlet or m.group("outlet")
            continue
        if i + 1 < len(lines) and is_caption_pair(line, text[lines[i + 1].start:lines[i + 1].end]):
            removed.append((span, "photo-caption"))
            skip_next = True
            continue
        start, end = span.start, span.end
        if title is None and not body and i + 1 < len(lines):  # a lone line is the article, not its title
            if looks_like_title(line):
                if m := _TITLE_OUTLET.match(line):
                    title, outlet = m.group("title").strip(), outlet or m.group("outlet").strip()
                else:
                    title = line.lstrip("#").strip() or line  # a Markdown heading's marks are not its words
                removed.append((span, "title"))
                continue
        if not body and (m := _DATELINE.match(line)) and (m.group("outlet") or m.group("outlet2")):
            outlet = outlet or (m.group("outlet") or m.group("outlet2")).strip()
            removed.append((Span(start, start + m.end()), "dateline"))
            start += m.end()
        if m := _TOMBSTONE.search(text, start, end):
            removed.append((Span(m.start(), end), "tombstone"))
            end = m.start()
        if end > start:
            body.append(Span(start, end))
    first_text = text[body[0].start:body[0].end] if body else ""
    if title is None:
        title = derive_title(first_text.split("\n")[0]) if first_text else ""
    date = find_date(text[: (body[0].end if body else len(text))])
    if date is None:
        for span, rule in removed:
            if rule == "copyright" and (m := _COPYRIGHT_OUTLET.search(text, span.start, span.end)):
                date = m.group("year")
    return Cleaned(tuple(body), tuple(removed), title, outlet, date)

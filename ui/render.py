"""An answer as the chat shows it: HTML for one assistant message, holding that answer's own sources.

Every answer carries its sources with it in the conversation, so the ``[n]`` of an earlier answer
still points to that answer's source n. All article and user text is HTML-escaped here before it is
put into markup (articles are untrusted input). No answering logic: an ``Answer`` goes in, markup
comes out; articles are looked up through the ``lookup`` callable the app passes.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from qa.present import date_label, display_title, pronoun_referent, read_as_line, unsure_line, weekday_dates
from qa.types import Answer

Lookup = Callable[[str], object]  # source -> StoredArticle | None (``qa.article``)
_MARKER = re.compile(r"\[(\d+)\]")


def highlight(text: str, offset: int, spans: Sequence[tuple[int, int]], notes: Sequence[tuple[int, str]] = ()) -> str:
    """``text`` (which starts at ``offset`` in its article) as escaped HTML: ``spans`` in <mark>,
    each note (article position, words) added after that position as a bracketed insertion that is
    visibly not part of the text.

    >>> highlight("A <b> C", 10, [(12, 15)])
    'A <mark>&lt;b&gt;</mark> C'
    >>> highlight("He left.", 0, [(0, 8)], [(2, "he = Blinken")])
    '<mark>He<span class="qa-note"> [he = Blinken]</span> left.</mark>'
    """
    events: list[tuple[int, int, str]] = []
    pos = 0
    for start, end in sorted(spans):
        start, end = max(start - offset, pos), min(end - offset, len(text))
        if start >= end:
            continue
        events += [(start, 2, "<mark>"), (end, 1, "</mark>")]
        pos = end
    for at, words in notes:
        if 0 <= at - offset <= len(text):
            events.append((at - offset, 0, f'<span class="qa-note"> [{html.escape(words)}]</span>'))
    out, pos = [], 0
    for at, _, tag in sorted(events):
        out += [html.escape(text[pos:at]), tag]
        pos = at
    out.append(html.escape(text[pos:]))
    return "".join(out)


def notes_for(text: str, start: int, end: int, published: str | None) -> list[tuple[int, str]]:
    """The insertions for the quote ``text[start:end]``: who a leading he/she/they is, and which date
    a weekday means (positions in ``text``).

    >>> t = "Blinken spoke. He left on Monday."
    >>> notes_for(t, 15, len(t), "2023-10-11")
    [(17, 'he = Blinken'), (32, '= 2023-10-09')]
    """
    notes = []
    if who := pronoun_referent(text, start):
        notes.append((start + len(who[0]), f"{who[0].lower()} = {who[1]}"))
    notes += [(start + e, f"= {iso}") for _, e, iso in weekday_dates(text[start:end], published)]
    return notes


def _head(number: int | None, title: str, outlet: str | None, published: str | None) -> str:
    parts = [f"<b>{f'[{number}] ' if number else ''}{html.escape(title)}</b>",
             html.escape(outlet) if outlet else "outlet not stated", html.escape(date_label(published))]
    return f"<div class='qa-src-head'>{' · '.join(parts)}</div>"


def _whole(text: str, spans: list[tuple[int, int]], notes: list[tuple[int, str]]) -> str:
    """The whole article, leading blank lines stripped, the highlight in it (the page's script scrolls
    the box to the first <mark> when the reader opens it)."""
    lead = len(text) - len(text.lstrip())
    return ("<details class='qa-whole'><summary>Open the whole article</summary>"
            f"<div class='qa-article' tabindex='0'>{highlight(text[lead:], lead, spans, notes)}</div></details>")


def render_answer(answer: Answer, turn: int, lookup: Lookup) -> str:
    """One assistant message: the short answer in bold, the answer with ``[n]`` links to this
    answer's own sources, and those sources under it (collapsible), each with headline, outlet, date,
    the passage with the quote highlighted and the whole article on demand."""
    articles = {}
    for source in {c.source for c in answer.citations} | {p.source for p in answer.passages[:3]}:
        articles[source] = lookup(source)
    if answer.abstained:
        return _render_refusal(answer, articles)
    text_notes: list[tuple[int, str]] = []
    items = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for c in answer.citations:
        spans.setdefault(c.source, []).append((c.start, c.end))
    for c in answer.citations:
        stored = articles.get(c.source)
        published = getattr(stored, "date", None)
        notes = notes_for(stored.text, c.start, c.end, published) if stored else []
        at = answer.text.find(c.quote)
        if at >= 0:
            text_notes += [(at + n - c.start, words) for n, words in notes]
        title = display_title(c.title, stored.text) if stored else c.title
        passage = stored.text[c.passage_start:c.passage_end] if stored and c.passage_end else c.quote
        start = c.passage_start if stored and c.passage_end else c.start
        whole = _whole(stored.text, spans[c.source], notes) if stored else ""
        items.append(
            f"<div class='qa-source' id='qa-t{turn}-c{c.number}' tabindex='-1'>"
            f"{_head(c.number, title, c.outlet or getattr(stored, 'outlet', None), published)}"
            f"<div class='qa-passage'>{highlight(passage, start, [(c.start, c.end)], notes)}</div>"
            f"{whole}<div class='qa-file'>file: {html.escape(c.source)}</div></div>")
    body = _MARKER.sub(
        lambda m: f"<a class='qa-ref' href='#qa-t{turn}-c{m.group(1)}' aria-label='source {m.group(1)}'>[{m.group(1)}]</a>",
        highlight(answer.text, 0, [], sorted(set(text_notes))))
    short = ""
    if answer.unsure:  # the closest sentence, said to be no more than that; no figure in bold
        short = f"<p class='qa-unsure' role='note'>{html.escape(unsure_line(answer))}</p>"
    elif answer.short:
        short = f"<p class='qa-short'><strong>{html.escape(answer.short.text)}</strong></p>"
    count = len(answer.citations)
    return (f"<div class='qa-answer{' qa-unsure-answer' if answer.unsure else ''}'>"
            f"{_read_as(answer)}{short}{_origin(answer)}"
            f"<p class='qa-text'>{body}</p>{_left_out(answer)}"
            f"<details class='qa-srcs' open><summary>Sources of this answer ({count})</summary>{''.join(items)}</details>"
            "<button type='button' class='qa-copy'>Copy answer and sources</button></div>")


def _origin(answer: Answer) -> str:
    """Who wrote the answer, when a language model is configured: the model (each sentence checked), or
    the articles' own sentences with the note saying why the model's answer is not used."""
    if answer.mode == "generated":
        return ("<p class='qa-mode'>Written by the language model from the articles' sentences; each sentence "
                "was checked against the sentence it cites.</p>")
    return f"<p class='qa-mode' role='note'>{html.escape(answer.note)}</p>" if answer.note else ""


def _left_out(answer: Answer) -> str:
    """The model's sentences that failed the check, listed apart as unsupported (never as answer text)."""
    bad = [c for c in answer.claims if not c.supported]
    if answer.mode != "generated" or not bad:
        return ""
    items = "".join(f"<li>{html.escape(c.text)} <i>({html.escape(c.reason)})</i></li>" for c in bad)
    return (f"<details class='qa-unsupported'><summary>Left out: not supported by the sentences they cite "
            f"({len(bad)})</summary><ul>{items}</ul></details>")


def render_draft(text: str) -> str:
    """The language model's reply while it is written: plain escaped text marked as an unchecked draft,
    replaced by the checked answer when the reply is complete.

    >>> render_draft("Kirby <b>said</b> [1]")
    "<div class='qa-answer qa-draft' aria-busy='true'><p class='qa-mode'>Draft by the language model, being written; it is checked against the articles before it is shown as the answer.</p><p class='qa-text'>Kirby &lt;b&gt;said&lt;/b&gt; [1]</p></div>"
    """
    return ("<div class='qa-answer qa-draft' aria-busy='true'><p class='qa-mode'>Draft by the language model, being "
            "written; it is checked against the articles before it is shown as the answer.</p>"
            f"<p class='qa-text'>{html.escape(text)}</p></div>")


def _read_as(answer: Answer) -> str:
    """The question as it was read, when a misspelt word was taken for a word of the articles."""
    return f"<p class='qa-read-as' role='note'>{html.escape(read_as_line(answer))}</p>" if answer.read_as else ""


def _render_refusal(answer: Answer, articles: dict) -> str:
    items = []
    for i, p in enumerate(answer.passages[:3], 1):
        stored = articles.get(p.source)
        title = display_title(p.title, stored.text) if stored else p.title
        whole = _whole(stored.text, [(p.start, p.end)], []) if stored else ""
        items.append(f"<div class='qa-source qa-closest'>"
                     f"{_head(None, title, p.outlet or getattr(stored, 'outlet', None), getattr(stored, 'date', None))}"
                     f"<div class='qa-passage'>{html.escape(p.text)}</div>{whole}"
                     f"<div class='qa-file'>file: {html.escape(p.source)}</div></div>")
    return (f"<div class='qa-answer qa-refusal'>{_read_as(answer)}{_origin(answer)}"
            f"<p class='qa-text'>{html.escape(answer.text)}</p>"
            "<details class='qa-srcs' open><summary>No sentence answered with enough confidence. "
            f"The closest passages, to check for yourself ({len(items)})</summary>{''.join(items)}</details>"
            "<button type='button' class='qa-copy'>Copy answer and sources</button></div>")


def render_question(text: str) -> str:
    """A reader's question as shown (escaped).

    >>> render_question("<b>Who?</b>")
    '&lt;b&gt;Who?&lt;/b&gt;'
    """
    return html.escape(text)


def render_error(message: str) -> str:
    """A failure shown in the conversation, marked so that it gets no thumbs (it is not an answer).

    >>> render_error("no index")
    "<div class='qa-error' role='alert'>⚠ no index</div>"
    """
    return f"<div class='qa-error' role='alert'>⚠ {html.escape(message)}</div>"


PENDING = "<div class='qa-thinking' role='status'>Searching the articles…</div>"

"""Split cleaned article text into sentences and sentence-aligned chunks, all as exact offsets.

Pure functions over spans of the original text: nothing here reads files, embeds or stores.
Sentences come from NLTK's Punkt tokenizer (the one llama-index's ``SentenceSplitter`` uses, shipped
with llama-index-core), run line by line. Chunks are packed from whole sentences rather than cut by
``SentenceSplitter``, because its chunks are stripped and re-joined strings whose position in the file
has to be searched for again; packing spans keeps ``text[start:end] == chunk`` true by construction and
lets the answerer cite whole sentences.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache

from index.types import Chunk, Span

DEFAULT_CHUNK_WORDS = 120  # ~160 word pieces: inside MiniLM's 256-token window, a few sentences each
DEFAULT_OVERLAP_SENTENCES = 1
_ABBREVIATIONS = {"u.s", "u.n", "u.k", "e.u", "mr", "mrs", "ms", "dr", "gen", "lt", "col", "sen", "rep", "gov",
                  "st", "jan", "feb", "aug", "sept", "oct", "nov", "dec", "no", "vs", "etc", "inc", "corp"}


@lru_cache(maxsize=1)
def _punkt():
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    params.abbrev_types = set(_ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def split_sentences(text: str, spans: Sequence[Span]) -> list[Span]:
    """Sentence spans inside each of ``spans`` (sentences never cross a span, so never a line).

    >>> t = "He met Abbas. They spoke on Tuesday.\\nThe U.S. said no."
    >>> [t[s.start:s.end] for s in split_sentences(t, [Span(0, 36), Span(37, 54)])]
    ['He met Abbas.', 'They spoke on Tuesday.', 'The U.S. said no.']
    """
    tokenizer = _punkt()
    out: list[Span] = []
    for span in spans:
        piece = text[span.start:span.end]
        for start, end in tokenizer.span_tokenize(piece):
            if piece[start:end].strip():
                out.append(Span(span.start + start, span.start + end))
    return out


def runs(text: str, sentences: Sequence[Span]) -> list[list[Span]]:
    """Group sentences into runs: neighbours with nothing but white space between them in ``text``.

    A chunk never crosses a run, so it never contains removed boilerplate.

    >>> t = "A b. C d.\\nXX\\nE f."
    >>> [[t[s.start:s.end] for s in r] for r in runs(t, [Span(0, 4), Span(5, 9), Span(13, 17)])]
    [['A b.', 'C d.'], ['E f.']]
    """
    groups: list[list[Span]] = []
    for sentence in sentences:
        if groups and not text[groups[-1][-1].end:sentence.start].strip():
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    return groups


def word_count(text: str) -> int:
    """Words separated by white space: a cheap, model-free stand-in for tokens.

    >>> word_count("two  words")
    2
    """
    return len(text.split())


def pack(sizes: Sequence[int], max_size: int, overlap: int) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of consecutive items whose sizes add up to at most ``max_size``.

    An item larger than ``max_size`` gets a range of its own; consecutive ranges share ``overlap``
    items; a last range under a quarter of ``max_size`` is merged into the one before it.

    >>> pack([5, 5, 5, 5], max_size=10, overlap=0)
    [(0, 2), (2, 4)]
    >>> pack([5, 5, 5, 5], max_size=10, overlap=1)
    [(0, 2), (1, 3), (2, 4)]
    >>> pack([5, 5, 1], max_size=10, overlap=0)
    [(0, 3)]
    """
    if max_size <= 0 or overlap < 0:
        raise ValueError("max_size must be positive and overlap non-negative")
    ranges: list[tuple[int, int]] = []
    i, n = 0, len(sizes)
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + sizes[j] <= max_size):
            total += sizes[j]
            j += 1
        ranges.append((i, j))
        if j == n:
            break
        i = max(j - overlap, i + 1)
    if len(ranges) > 1 and sum(sizes[ranges[-1][0]:ranges[-1][1]]) < max_size / 4:
        ranges[-2:] = [(ranges[-2][0], ranges[-1][1])]
    return ranges


def chunk_id(source: str, start: int, end: int, text: str) -> str:
    """A stable id: the same article text always gives the same chunk ids.

    >>> chunk_id("a.txt", 0, 5, "Hello") == chunk_id("a.txt", 0, 5, "Hello")
    True
    """
    digest = hashlib.sha256(f"{source}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()
    return digest[:32]


def chunk_article(
    source: str,
    text: str,
    body: Sequence[Span],
    max_words: int = DEFAULT_CHUNK_WORDS,
    overlap: int = DEFAULT_OVERLAP_SENTENCES,
    count: Callable[[str], int] = word_count,
) -> list[Chunk]:
    """Chunks of whole sentences of an article's body, each with its sentence spans.

    >>> t = "One two three. Four five six. Seven eight nine."
    >>> [c.text for c in chunk_article("a.txt", t, [Span(0, len(t))], max_words=6, overlap=0)]
    ['One two three. Four five six.', 'Seven eight nine.']
    """
    chunks: list[Chunk] = []
    for run in runs(text, split_sentences(text, body)):
        sizes = [count(text[s.start:s.end]) for s in run]
        for i, j in pack(sizes, max_words, overlap):
            start, end = run[i].start, run[j - 1].end
            piece = text[start:end]
            chunks.append(Chunk(chunk_id(source, start, end, piece), source, start, end, piece, tuple(run[i:j])))
    return chunks

"""Read a corpus folder into cleaned ``Article``s, reporting every file it cannot use and why.

Reads ``.txt``, ``.md`` and ``.html``/``.htm`` (HTML reduced to text by BeautifulSoup). It does not
chunk, embed or store. A file it skips comes back as ``Skipped`` with a reason, never silently.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from index.clean import clean
from index.errors import CorpusError
from index.meta import html_meta, text_meta
from index.types import Article, Skipped

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
MAX_FILE_BYTES = 5 * 1024 * 1024  # a news article is a few kB; 5 MB is a dump, not an article
_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "svg", "button")
_BLOCK_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "figcaption", "pre", "td", "th", "dt", "dd")


def html_to_text(html: str) -> str:
    """Article text of an HTML page, one block a line, headline first; scripts and page chrome dropped.

    >>> html_to_text("<html><title>T</title><script>x()</script><p>One &amp; two.</p><p>Three.</p></html>")
    'T\\nOne & two.\\nThree.'
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    headline = soup.find("h1") or soup.find("title")
    title = headline.get_text(" ", strip=True) if headline else ""
    for tag in soup(_DROP_TAGS + ("title",)):
        tag.decompose()
    blocks = [b.get_text(" ", strip=True) for b in soup.find_all(_BLOCK_TAGS) if not b.find(_BLOCK_TAGS)]
    if not blocks:
        blocks = [line.strip() for line in soup.get_text("\n").splitlines()]
    lines = [title] if title else []
    lines += [b for b in blocks if b and b != title]
    return "\n".join(lines)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text of a file's bytes, or ``CorpusError`` saying why it is not text.

    >>> decode("Gaza".encode(), "a.txt")
    'Gaza'
    """
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{source}: binary file (contains NUL bytes), not an article")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorpusError(
            f"{source}: not valid UTF-8 (byte {err.start}); convert it, e.g. `iconv -f latin1 -t utf-8`"
        ) from None


def read_article(path: Path, source: str | None = None) -> Article:
    """Read, decode and clean one corpus file; raise ``CorpusError`` when it is not a usable article."""
    source = source or path.name
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError(f"{source}: empty file")
    if len(data) > MAX_FILE_BYTES:
        raise CorpusError(f"{source}: {len(data) / 1e6:.1f} MB is larger than the {MAX_FILE_BYTES // 2**20} MB an article may be")
    text = decode(data, source)
    stated = {}
    if path.suffix.lower() in HTML_SUFFIXES:
        stated = html_meta(text)
        text = html_to_text(text)
    stated = {**text_meta(text), **stated}
    cleaned = clean(text)
    if not cleaned.body:
        raise CorpusError(f"{source}: no article text left after removing boilerplate")
    return Article(
        source=source,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        title=stated.get("title") or cleaned.title,
        outlet=stated.get("outlet") or cleaned.outlet,
        date=stated.get("date") or cleaned.date,
        body=cleaned.body,
        removed=cleaned.removed,
    )


def corpus_files(folder: Path) -> Iterator[tuple[Path, str]]:
    """Files of the corpus folder that look like articles, with their source names, in name order.

    Sub-folders are walked; a source name is the path relative to ``folder``. Links leading outside
    the folder are not followed (they come back with a reason from ``read_corpus``).
    """
    yield from corpus_listing(folder)[0]


def corpus_listing(folder: Path) -> tuple[list[tuple[Path, str]], list[str]]:
    """One walk of the corpus folder: its articles as ``corpus_files`` gives them, and the names (relative
    to ``folder``) of the other files, those not read as articles (not .txt, .md, .html or .htm); hidden
    files and folders (".git", ".DS_Store") are left out of both.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("a.txt", "report.pdf", ".DS_Store"):
    ...         _ = (Path(d) / name).write_text("x")
    ...     articles, others = corpus_listing(Path(d))
    >>> [source for _, source in articles], others
    (['a.txt'], ['report.pdf'])
    """
    if folder.exists() and not folder.is_dir():
        raise CorpusError(f"{folder} is a file, not a folder: the corpus (--corpus, QA_CORPUS) is the folder that "
                          "holds the articles")
    if not folder.is_dir():
        raise CorpusError(f"corpus folder {folder} does not exist; pass --corpus or set QA_CORPUS")
    articles, others = [], []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.suffix.lower() in TEXT_SUFFIXES | HTML_SUFFIXES and (path.is_file() or path.is_symlink()):
            articles.append((path, name))
        elif path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            others.append(name)
    return articles, others


def read_corpus(folder: Path) -> Iterator[Article | Skipped]:
    """Every article of ``folder`` (streamed, name order), or a ``Skipped`` with the reason."""
    root = folder.resolve()
    for path, source in corpus_files(folder):
        if not path.resolve().is_relative_to(root):
            yield Skipped(source, "a link that leads outside the corpus folder")
            continue
        if not path.is_file():
            yield Skipped(source, "not a regular file")
            continue
        try:
            yield read_article(path, source)
        except CorpusError as err:
            yield Skipped(source, str(err).removeprefix(f"{source}: "))
        except OSError as err:
            yield Skipped(source, f"cannot be read ({err.strerror})")

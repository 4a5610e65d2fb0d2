"""Build the eval's three corpus folders (seeds; seeds + Lee; both + Wikipedia distractors); no indexing.

The Q&A items name their sources relative to a corpus root: seed articles by file name, Lee articles
as ``lee/lee_NN.txt``, so every item resolves the same way in every corpus that holds its articles.
The Wikipedia distractors are extracted from the installed ``gensim`` wheel's test data (see
``evals/corpora/README.md``); ``lee_background.cor`` beside them is reserved and never opened.
"""
from __future__ import annotations

import bz2
import importlib.util
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from qa.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
LEE = Path(__file__).with_name("corpora") / "lee"
WIKI_DUMP = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
CORPORA = {"seeds": ("seeds",), "seeds+lee": ("seeds", "lee"), "seeds+lee+wiki": ("seeds", "lee", "wiki")}
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def gensim_test_data() -> Path:
    """The test-data folder of the installed gensim wheel (not imported: only its files are read)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or spec.origin is None:
        raise ConfigError("the Wikipedia distractors come from the gensim wheel: pip install -e '.[dev]'")
    return Path(spec.origin).parent / "test" / "test_data"


def slug(title: str) -> str:
    """A file name for a page title.

    >>> slug("A. A. Milne"), slug("Åland/Islands")
    ('A_A_Milne', 'land_Islands')
    """
    return _SLUG.sub("_", title).strip("_")


def wiki_articles(dump: Path | None = None) -> Iterator[tuple[str, str]]:
    """(title, plain text) of every page of the dump that is not a redirect, markup stripped."""
    import mwparserfromhell

    dump = dump or gensim_test_data() / WIKI_DUMP
    with bz2.open(dump) as f:
        for _, element in ET.iterparse(f):
            if not element.tag.endswith("}page"):
                continue
            ns = element.tag[: -len("page")]
            title = element.findtext(f"{ns}title") or ""
            markup = element.findtext(f"{ns}revision/{ns}text") or ""
            redirect = element.find(f"{ns}redirect") is not None or markup.lstrip().lower().startswith("#redirect")
            element.clear()
            if redirect or not markup.strip():
                continue
            text = mwparserfromhell.parse(markup).strip_code(normalize=True, collapse=True)
            lines = [line.strip() for line in text.splitlines()]
            body = "\n".join(line for line in lines if line and not line.startswith(("Category:", "thumb|")))
            yield title, f"{title}\n{body}\n"


def build_corpus(name: str, folder: Path) -> Path:
    """Fill ``folder`` with corpus ``name`` (a key of ``CORPORA``), reusing what is already there."""
    if name not in CORPORA:
        raise ConfigError(f"unknown eval corpus {name!r}; known: {', '.join(CORPORA)}")
    folder.mkdir(parents=True, exist_ok=True)
    parts = CORPORA[name]
    for path in SEEDS.iterdir():
        if path.suffix == ".txt":
            _copy(path, folder / path.name)
    if "lee" in parts:
        for path in sorted(LEE.glob("*.txt")):
            _copy(path, folder / "lee" / path.name)
    if "wiki" in parts and not (folder / "wiki").is_dir():
        partial = folder / "wiki.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for title, text in wiki_articles():
            (partial / f"{slug(title)}.txt").write_text(text, encoding="utf-8")
        partial.rename(folder / "wiki")
    return folder


def _copy(source: Path, target: Path) -> None:
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

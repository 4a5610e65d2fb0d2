"""Whether an index is whole: its catalog, vector store and keyword snapshot hold the same chunks.

``check(store)`` counts the chunks each of the three holds, looks a sample of ids up in the others
(catalog ids in the vectors and the snapshot, vector ids in the catalog), and notes articles left
``pending`` by an interrupted or running ``qa index``. It reads only; it repairs nothing (``qa index``
does). Used by ``qa status`` and by the fault tests.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from index.errors import StoreError
from index.store import Store

SAMPLE = 1000  # ids looked up in each direction; a small index is checked whole


@dataclass(frozen=True)
class Health:
    """What ``qa status`` reports; ``problems`` is empty when the three parts agree."""

    location: str
    articles: int
    chunks: int  # in the catalog
    pending: int  # articles whose (re)indexing has not finished
    vectors: int | None  # chunk vectors in Chroma (None: could not be read)
    keyword_chunks: int | None  # chunks in the keyword snapshot (None: could not be read)
    keyword_generation: str | None
    last_indexed: float | None
    sampled: int  # catalog ids looked up in the vectors and the snapshot
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {**asdict(self), "problems": list(self.problems), "healthy": self.healthy}

    def lines(self) -> list[str]:
        """The report for people."""
        when = (datetime.fromtimestamp(self.last_indexed, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
                if self.last_indexed else "never")
        out = [f"index: {self.location}",
               f"articles: {self.articles} ({self.pending} pending)",
               f"chunks: catalog {self.chunks}, vectors {_or_unknown(self.vectors)}, "
               f"keyword snapshot {_or_unknown(self.keyword_chunks)}",
               f"keyword generation: {self.keyword_generation or 'none'}",
               f"last indexed: {when}",
               f"ids checked: {self.sampled} from the catalog in the vectors and the keyword snapshot"]
        out += [f"problem: {p}" for p in self.problems] or ["consistent: catalog, vectors and keyword snapshot agree"]
        return out


def _or_unknown(value: int | None) -> str:
    return "?" if value is None else str(value)


def disagreements(counts: dict[str, int | None], missing: dict[str, list[str]]) -> list[str]:
    """Problems from the chunk counts of each part and the sampled ids each part lacks.

    >>> disagreements({"catalog": 35, "vectors": 35, "keyword snapshot": 35}, {})
    []
    >>> disagreements({"catalog": 35, "vectors": 34, "keyword snapshot": 35}, {"vectors": ["a#3"]})
    ['chunk counts disagree: catalog 35, vectors 34, keyword snapshot 35', 'vectors lack 1 sampled id (a#3)']
    """
    out = []
    known = {k: v for k, v in counts.items() if v is not None}
    if len(set(known.values())) > 1:
        out.append("chunk counts disagree: " + ", ".join(f"{k} {v}" for k, v in known.items()))
    for part, ids in missing.items():
        if ids:
            shown = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
            out.append(f"{part} lack{'s' if part != 'vectors' else ''} {len(ids)} sampled id{'s' if len(ids) > 1 else ''} "
                       f"({shown})")
    return out


def check(store: Store, sample: int = SAMPLE) -> Health:
    """The health of ``store``; ``NoIndexError`` when there is no index at all."""
    if not store.exists():
        raise store.no_index_error()
    stats = store.stats()
    generation = store.meta("bm25_generation") or None
    problems: list[str] = []
    if stats.pending:
        problems.append(f"{stats.pending} article(s) pending: a `qa index` is running or was interrupted; "
                        "run `qa index` to complete them")
    catalog_ids = store.sample_chunk_ids(sample)
    vectors = keyword_ids = None
    missing: dict[str, list[str]] = {}
    try:
        collection = store.collection()
        vectors = collection.count()
        present = set(collection.get(ids=catalog_ids, include=[])["ids"]) if catalog_ids else set()
        missing["vectors"] = [i for i in catalog_ids if i not in present]
        some = store.sample_vector_ids(sample)
        known = store.chunks(some)
        missing["the catalog"] = [i for i in some if i not in known]
    except StoreError as err:
        problems.append(f"vectors: {err}")
    if generation:
        try:
            corpus = store.load_bm25(generation).corpus
            keyword_ids = [d["node_id"] for d in corpus]
            if len(set(keyword_ids)) != len(keyword_ids):
                problems.append(f"the keyword snapshot holds {len(keyword_ids) - len(set(keyword_ids))} duplicate ids")
            held = set(keyword_ids)
            missing["the keyword snapshot"] = [i for i in catalog_ids if i not in held]
        except StoreError as err:
            problems.append(f"keyword snapshot: {err}")
    elif stats.chunks:
        problems.append("there is no keyword snapshot; run `qa index`")
    counts = {"catalog": stats.chunks, "vectors": vectors, "keyword snapshot": len(keyword_ids) if keyword_ids is not None else None}
    if not generation:
        counts.pop("keyword snapshot")
    problems += disagreements(counts, missing)
    return Health(store.location, stats.articles, stats.chunks, stats.pending, vectors,
                  None if keyword_ids is None else len(keyword_ids), generation, stats.last_indexed,
                  len(catalog_ids), tuple(problems))

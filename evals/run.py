"""Run the Q&A set through ``ask()`` and through a plain vector-search baseline, and score both.

Every item is run; one that raises is a failed row with its error, never a dropped one. The baseline is
what a tutorial builds: llama-index vector retrieval over the same Chroma store and model, answer =
the top chunk. Reporting is in ``evals.report``; the metrics are in ``evals.metrics``.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evals.corpora import build_corpus
from evals.metrics import answer_matches, first_hit, mean, percentile, safe_ratio, token_f1
from qa.answer import Engine
from qa.settings import Settings

QA_SET = Path(__file__).with_name("qa.jsonl")
TYPES = ("who", "number", "fact", "paraphrase", "multi", "disagree", "followup", "unanswerable")
SPLITS = ("tune", "test")
KINDS = (None, "off-topic", "beyond")  # of an unanswerable item: a near miss unless "off-topic"


def split_of(item_id: str) -> str:
    """The frozen split of an item: "test" for about half the ids, by a hash, fixed before any tuning.

    Every weight, threshold or rule is chosen by looking at "tune" items only; "test" is only reported.

    >>> split_of("who-01"), split_of("sa-01"), split_of("sa-02")
    ('test', 'tune', 'test')
    """
    return "test" if int(hashlib.sha256(f"split:{item_id}".encode()).hexdigest(), 16) % 100 < 50 else "tune"


@dataclass
class Row:
    """One item's outcome for one system on one corpus."""

    id: str
    type: str
    question: str
    answerable: bool
    split: str = "tune"
    answer: str = ""
    abstained: bool = False
    correct: bool = False  # alias in the answer (answerable) or abstained (unanswerable)
    f1: float = 0.0
    hit_rank: int | None = None
    cited_gold: bool = False
    cited_spans: int = 0
    cited_spans_gold: int = 0
    multi_source: bool = False  # the item names two or more articles (multi-article or disagreement)
    off_topic: bool = False  # unanswerable, on a subject no article touches (item "kind": "off-topic")
    all_sources_cited: bool = False  # answered, and every article of the item is among the citations
    confidence: float = 0.0
    unsure: bool = False  # answered, but marked as more likely wrong than right (``Answer.unsure``)
    latency_ms: float = 0.0
    error: str | None = None
    citations: list = field(default_factory=list)
    mode: str = ""  # the answer's mode: "extractive" or "generated" (an LLM configured with --llm-url)
    claims: int = 0  # sentences the LLM wrote, and how many of them passed the check
    claims_supported: int = 0
    note: str = ""


def load_set(path: Path | str = QA_SET) -> list[dict]:
    """The Q&A items of a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_set(items: list[dict], corpus: Path) -> list[str]:
    """Problems with a Q&A set (empty list when it is sound): evidence verbatim in its sources, ids unique,
    unanswerable items without sources, every field present. An unanswerable item may say of what
    ``kind`` it is: "off-topic" (no article touches its subject) or "beyond" (a detail the articles
    leave out); without one it is a near miss as well."""
    problems, seen = [], set()
    for item in items:
        iid = item.get("id")
        missing = {"id", "question", "answer", "aliases", "sources", "evidence", "type"} - set(item)
        if missing:
            problems.append(f"{iid}: missing {sorted(missing)}")
            continue
        if iid in seen:
            problems.append(f"{iid}: duplicate id")
        seen.add(iid)
        if item["type"] not in TYPES:
            problems.append(f"{iid}: unknown type {item['type']}")
        kind = item.get("kind")
        if kind not in KINDS or (kind and item["type"] != "unanswerable"):
            problems.append(f"{iid}: kind is \"off-topic\" or \"beyond\", and only for unanswerable items")
        if item["type"] == "unanswerable":
            if item["sources"] or item["evidence"]:
                problems.append(f"{iid}: unanswerable items have no sources or evidence")
            continue
        if not item["aliases"] or not item["evidence"]:
            problems.append(f"{iid}: an answerable item needs aliases and evidence")
        for ev in item["evidence"]:
            if ev["source"] not in item["sources"]:
                problems.append(f"{iid}: evidence from {ev['source']}, which is not among its sources")
            path = corpus / ev["source"]
            if not path.is_file() or ev["text"] not in path.read_text(encoding="utf-8"):
                problems.append(f"{iid}: evidence not found verbatim in {ev['source']}: {ev['text'][:60]}")
    return problems


def gold_spans(item: dict, engine: Engine) -> list[tuple[str, int, int]]:
    """The gold evidence as (source, start, end) in the indexed original texts."""
    spans = []
    for ev in item["evidence"]:
        article = engine.store.article(ev["source"])
        if article is not None and (start := article.text.find(ev["text"])) >= 0:
            spans.append((ev["source"], start, start + len(ev["text"])))
    return spans


def is_correct(item: dict, answer_text: str, abstained: bool) -> bool:
    """Whether an answer is right for ``item``: one of its aliases in an answer given, or, for an
    unanswerable item, a refusal.

    >>> item = {"type": "who", "aliases": ["John Kirby"]}
    >>> is_correct(item, "White House spokesman John Kirby said", False), is_correct(item, "", True)
    (True, False)
    >>> is_correct({"type": "unanswerable", "aliases": []}, "The articles do not answer.", True)
    True
    """
    if item["type"] == "unanswerable":
        return abstained
    return not abstained and answer_matches(answer_text, item["aliases"])


def _score(row: Row, item: dict, gold: list, answer_text: str, abstained: bool,
           ranked: list, cited: list) -> Row:
    row.answer, row.abstained = answer_text, abstained
    row.correct = is_correct(item, answer_text, abstained)
    if row.answerable:
        row.f1 = 0.0 if abstained else token_f1(answer_text, item["answer"])
        row.hit_rank = first_hit(ranked, gold)
        if not abstained:
            row.cited_spans = len(cited)
            row.cited_spans_gold = sum(1 for c in cited if first_hit([c], gold))
            row.cited_gold = row.cited_spans_gold > 0
            row.all_sources_cited = set(item["sources"]) <= {c[0] for c in cited}
    return row


def _row(item: dict) -> Row:
    return Row(item["id"], item["type"], item["question"], item["type"] != "unanswerable", split_of(item["id"]),
               multi_source=len(item["sources"]) > 1, off_topic=item.get("kind") == "off-topic")


def run_system(engine: Engine, item: dict, gold: list) -> Row:
    return _timed(item, gold, lambda: engine.ask(item["question"], item.get("history")))


def _timed(item: dict, gold: list, answer_of) -> Row:
    """The scored row of ``answer_of()``'s answer to ``item``, with its latency; an item that raises is a
    failed row, never a dropped one."""
    row = _row(item)
    started = time.perf_counter()
    try:
        answer = answer_of()
    except Exception as err:
        row.error = f"{type(err).__name__}: {err}"
        row.latency_ms = (time.perf_counter() - started) * 1000
        return row
    row.latency_ms = (time.perf_counter() - started) * 1000
    return _answered(row, item, gold, answer)


def _answered(row: Row, item: dict, gold: list, answer) -> Row:
    row.confidence, row.mode, row.note, row.unsure = answer.confidence, answer.mode, answer.note, answer.unsure
    row.claims, row.claims_supported = len(answer.claims), sum(1 for c in answer.claims if c.supported)
    row.citations = [{"source": c.source, "start": c.start, "end": c.end, "quote": c.quote} for c in answer.citations]
    ranked = [(p.source, p.start, p.end) for p in answer.passages]
    cited = [(c.source, c.start, c.end) for c in answer.citations]
    return _score(row, item, gold, answer.text, answer.abstained, ranked, cited)


def run_generated(engine: Engine, llm: Settings, item: dict, gold: list) -> Row:
    """The same retrieval and extractive answer, then the LLM's checked answer (``qa.compose``), as ``ask()``
    does when ``llm_url`` is set; the latency includes the LLM."""
    from qa.compose import generated

    def answer():
        found = engine.gather(item["question"], item.get("history"))
        return generated(llm, found, engine.extractive(found), engine.selector["ranker"])

    return _timed(item, gold, answer)


def run_baseline(engine: Engine, item: dict, gold: list, k: int = 5) -> Row:
    """Vector top-k over the same store and model; the answer is the top chunk, which is also its citation."""
    row = _row(item)
    started = time.perf_counter()
    try:
        chunks = engine.retriever.dense_only(item["question"], k)
    except Exception as err:
        row.error = f"{type(err).__name__}: {err}"
        return row
    row.latency_ms = (time.perf_counter() - started) * 1000
    ranked = [(c.source, c.start, c.end) for c in chunks]
    text = chunks[0].text if chunks else ""
    return _score(row, item, gold, text, False, ranked, ranked[:1])


def aggregate(rows: list[Row]) -> dict:
    """The metrics of a group of rows."""
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    answered = [r for r in answerable if not r.abstained and not r.error]
    abstained = [r for r in rows if r.abstained]
    multi = [r for r in answerable if r.multi_source]
    given = [r for r in rows if not r.abstained and not r.error]  # answers shown, to answerable items or not
    return {
        "n": len(rows),
        "errors": sum(1 for r in rows if r.error),
        "hit@1": mean(r.hit_rank == 1 for r in answerable),
        "hit@5": mean(r.hit_rank is not None and r.hit_rank <= 5 for r in answerable),
        "mrr": mean(1 / r.hit_rank if r.hit_rank else 0.0 for r in answerable),
        "citation_support": mean(r.cited_gold for r in answered),
        "citation_precision": safe_ratio(sum(r.cited_spans_gold for r in answered), sum(r.cited_spans for r in answered)),
        "answer_accuracy": mean(r.correct for r in answerable),
        "answer_f1": mean(r.f1 for r in answerable),
        "overall_accuracy": mean(r.correct for r in rows),
        "abstain_precision": safe_ratio(sum(1 for r in abstained if not r.answerable), len(abstained)),
        "abstain_recall": safe_ratio(sum(1 for r in unanswerable if r.abstained), len(unanswerable)),
        "near_miss_refusal": mean(r.abstained for r in unanswerable if not r.off_topic),
        "off_topic_refusal": mean(r.abstained for r in unanswerable if r.off_topic),
        "false_abstention": safe_ratio(sum(1 for r in answerable if r.abstained), len(answerable)),
        "all_sources_cited": mean(r.all_sources_cited for r in multi),
        # how far the reader can trust an answer by whether it is marked unsure: the share of answers
        # marked so, and how many of the answers given each way were right (an unanswerable item answered
        # is wrong)
        "unsure_share": mean(r.unsure for r in given),
        "sure_right": mean(r.correct for r in given if not r.unsure),
        "unsure_right": mean(r.correct for r in given if r.unsure),
        "multi_source_n": len(multi),
        "generated_share": mean(r.mode == "generated" for r in rows),
        "claims_supported_share": safe_ratio(sum(r.claims_supported for r in rows), sum(r.claims for r in rows)),
        "latency_p50_ms": percentile([r.latency_ms for r in rows], 50),
        "latency_p95_ms": percentile([r.latency_ms for r in rows], 95),
    }


def items_for(corpus: str, items: list[dict]) -> list[dict]:
    """The items a corpus can answer or refuse: seed items only on the seeds alone, all on the others."""
    return [i for i in items if corpus != "seeds" or i.get("corpus", "seeds") == "seeds"]


def prepare(corpus: str, workdir: Path, settings: Settings) -> Settings:
    """Build corpus ``corpus`` under ``workdir`` and index it (only what changed); its settings."""
    from index import build

    folder = workdir / corpus.replace("+", "_")
    build_corpus(corpus, folder / "corpus")
    s = settings.with_values(corpus=folder / "corpus", store=folder / "store", chroma_url=None)
    build(s.corpus, s.store, model_path=s.embed_model, chunk_words=s.chunk_words, overlap=s.chunk_overlap,
          progress=False)
    return s


def _groups(rows: list[Row]) -> dict:
    """Metrics of the rows per split, and per type within each split."""
    out = {}
    for split in SPLITS + ("all",):
        chosen = [r for r in rows if split in (r.split, "all")]
        out[split] = {"overall": aggregate(chosen),
                      "by_type": {t: aggregate([r for r in chosen if r.type == t]) for t in TYPES
                                  if any(r.type == t for r in chosen)}}
    return out


def evaluate_corpus(settings: Settings, items: list[dict]) -> dict:
    """Run both systems on ``items`` over the store of ``settings``; metrics per split, rows included. With
    ``settings.llm_url``, a third, "generated": the LLM's checked answers beside the extractive ones."""
    llm = settings if settings.llm_url else None
    engine = Engine(settings.with_values(llm_url=None) if llm else settings)
    engine.ask("warm-up question about the news")  # load the model and indexes before timing anything
    engine.retriever.dense_only("warm-up", 1)
    system, baseline, generated = [], [], []
    for item in items:
        gold = gold_spans(item, engine) if item["type"] != "unanswerable" else []
        system.append(run_system(engine, item, gold))
        baseline.append(run_baseline(engine, item, gold))
        if llm:
            generated.append(run_generated(engine, llm, item, gold))
    stats = engine.store.stats()
    runs = [("system", system), ("baseline", baseline)] + ([("generated", generated)] if llm else [])
    return {"articles": stats.articles, "chunks": stats.chunks, "items": len(items),
            "systems": {name: {**_groups(rows), "rows": [asdict(r) for r in rows]} for name, rows in runs}}


def evaluate(settings: Settings, items: list[dict], corpora: list[str], workdir: Path) -> dict:
    """Run the set over each corpus with one configuration; the report as a dict (rows included)."""
    report = {"settings": {"min_confidence": settings.min_confidence, "top_k": settings.top_k,
                           "items": len(items), "corpora": corpora, "llm_url": settings.llm_url,
                           "llm_model": settings.llm_model if settings.llm_url else None},
              "corpora": {}}
    for corpus in corpora:
        report["corpora"][corpus] = evaluate_corpus(prepare(corpus, workdir, settings), items_for(corpus, items))
    return report


__all__ = ["load_set", "check_set", "evaluate", "evaluate_corpus", "aggregate", "split_of", "items_for"]

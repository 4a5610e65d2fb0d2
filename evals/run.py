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

from evals.metrics import answer_matches, first_hit, mean, percentile, safe_ratio, token_f1
from qa.answer import Engine
from qa.settings import Settings

QA_SET = Path(__file__).with_name("qa.jsonl")
TYPES = ("who", "number", "fact", "paraphrase", "multi", "disagree", "followup", "unanswerable")
SPLITS = ("tune", "test")


def split_of(item_id: str) -> str:
    """The frozen split of an item: "test" for about half the ids, by a hash, fixed before any tuning.

    Every weight, threshold or rule is chosen by looking at "tune" items only; "test" is only reported.

    >>> split_of("who-01"), split_of("sa-01"), split_of("sa-02")
    ('test', 'tune', 'test')
    """
    return "test" if int(hashlib.sha256(f"split:{item_id}".encode()).hexdigest(), 16) % 100 < 50 else "tune"


@dataclass
class Row:
    """One item's outcome for one system."""

    id: str
    type: str
    question: str
    answerable: bool
    answer: str = ""
    abstained: bool = False
    correct: bool = False  # alias in the answer (answerable) or abstained (unanswerable)
    f1: float = 0.0
    hit_rank: int | None = None
    cited_gold: bool = False
    cited_spans: int = 0
    cited_spans_gold: int = 0
    confidence: float = 0.0
    latency_ms: float = 0.0
    error: str | None = None
    citations: list = field(default_factory=list)


def load_set(path: Path | str = QA_SET) -> list[dict]:
    """The Q&A items of a JSON Lines file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_set(items: list[dict], corpus: Path) -> list[str]:
    """Problems with a Q&A set (empty list when it is sound): evidence verbatim in its sources, ids unique,
    unanswerable items without sources, every field present."""
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


def _score(row: Row, item: dict, gold: list, answer_text: str, abstained: bool,
           ranked: list, cited: list) -> Row:
    row.answer, row.abstained = answer_text, abstained
    if row.answerable:
        row.correct = not abstained and answer_matches(answer_text, item["aliases"])
        row.f1 = 0.0 if abstained else token_f1(answer_text, item["answer"])
        row.hit_rank = first_hit(ranked, gold)
        if not abstained:
            row.cited_spans = len(cited)
            row.cited_spans_gold = sum(1 for c in cited if first_hit([c], gold))
            row.cited_gold = row.cited_spans_gold > 0
    else:
        row.correct = abstained
    return row


def run_system(engine: Engine, item: dict, gold: list) -> Row:
    row = Row(item["id"], item["type"], item["question"], item["type"] != "unanswerable")
    started = time.perf_counter()
    try:
        answer = engine.ask(item["question"], item.get("history"))
    except Exception as err:  # an item that raises is a failed row, never a dropped one
        row.error = f"{type(err).__name__}: {err}"
        row.latency_ms = (time.perf_counter() - started) * 1000
        return row
    row.latency_ms = (time.perf_counter() - started) * 1000
    row.confidence = answer.confidence
    row.citations = [{"source": c.source, "start": c.start, "end": c.end, "quote": c.quote} for c in answer.citations]
    ranked = [(p.source, p.start, p.end) for p in answer.passages]
    cited = [(c.source, c.start, c.end) for c in answer.citations]
    return _score(row, item, gold, answer.text, answer.abstained, ranked, cited)


def run_baseline(engine: Engine, item: dict, gold: list, k: int = 5) -> Row:
    """Vector top-k over the same store and model; the answer is the top chunk, which is also its citation."""
    row = Row(item["id"], item["type"], item["question"], item["type"] != "unanswerable")
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
        "false_abstention": safe_ratio(sum(1 for r in answerable if r.abstained), len(answerable)),
        "latency_p50_ms": percentile([r.latency_ms for r in rows], 50),
        "latency_p95_ms": percentile([r.latency_ms for r in rows], 95),
    }


def evaluate(settings: Settings, items: list[dict]) -> dict:
    """Run both systems on every item; return the report as a dict (rows included)."""
    engine = Engine(settings)
    engine.ask("warm-up question about Gaza")  # load the model and indexes before timing anything
    engine.retriever.dense_only("warm-up", 1)
    system, baseline = [], []
    for item in items:
        gold = gold_spans(item, engine) if item["type"] != "unanswerable" else []
        system.append(run_system(engine, item, gold))
        baseline.append(run_baseline(engine, item, gold))
    report = {"settings": {"store": str(settings.store), "min_confidence": settings.min_confidence,
                           "top_k": settings.top_k, "items": len(items)},
              "systems": {}}
    for name, rows in (("system", system), ("baseline", baseline)):
        report["systems"][name] = {
            "overall": aggregate(rows),
            "by_type": {t: aggregate([r for r in rows if r.type == t]) for t in TYPES if any(r.type == t for r in rows)},
            "rows": [asdict(r) for r in rows],
        }
    return report


def _fold(item_id: str, folds: int) -> int:
    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % folds


def _outcomes(points: list[tuple[float, bool, bool]], t: float) -> float:
    """Overall accuracy at threshold t of (confidence, answerable, alias-matched) points."""
    return mean((ok and c >= t) if answerable else c < t for c, answerable, ok in points)


def best_threshold(points: list[tuple[float, bool, bool]]) -> float:
    """The threshold with the best overall accuracy; the middle of the best plateau.

    >>> best_threshold([(0.9, True, True), (0.2, False, False), (0.6, True, True), (0.4, False, False)])
    0.5
    """
    candidates = sorted({0.0, 1.0} | {c for c, _, _ in points})
    grid = [(a + b) / 2 for a, b in zip(candidates, candidates[1:])] or [0.5]
    scores = [(_outcomes(points, t), t) for t in grid]
    top = max(s for s, _ in scores)
    plateau = [t for s, t in scores if s == top]
    return round(plateau[len(plateau) // 2], 4)


def calibrate(settings: Settings, items: list[dict], folds: int = 5) -> dict:
    """Choose the abstention threshold by ``folds``-fold cross-validation on the set."""
    engine = Engine(settings.with_values(min_confidence=0.0))
    points = []
    for item in items:
        answerable = item["type"] != "unanswerable"
        try:
            answer = engine.ask(item["question"], item.get("history"))
            points.append((item["id"], (answer.confidence, answerable, answerable and answer_matches(answer.text, item["aliases"]))))
        except Exception:  # a failure counts against every threshold
            points.append((item["id"], (0.0, answerable, False)))
    held_out = []
    thresholds = []
    for k in range(folds):
        train = [p for i, p in points if _fold(i, folds) != k]
        test = [p for i, p in points if _fold(i, folds) == k]
        t = best_threshold(train)
        thresholds.append(t)
        held_out += [((c >= t and ok) if a else c < t, a, c >= t) for c, a, ok in test]
    final = best_threshold([p for _, p in points])
    unanswerable = [h for h in held_out if not h[1]]
    abstained = [h for h in held_out if not h[2]]
    return {
        "threshold": final,
        "fold_thresholds": thresholds,
        "held_out_overall_accuracy": mean(h[0] for h in held_out),
        "held_out_abstain_recall": safe_ratio(sum(1 for h in unanswerable if not h[2]), len(unanswerable)),
        "held_out_abstain_precision": safe_ratio(sum(1 for h in abstained if not h[1]), len(abstained)),
        "in_sample_overall_accuracy": _outcomes([p for _, p in points], final),
    }


__all__ = ["load_set", "check_set", "evaluate", "calibrate", "aggregate"]

"""Write an eval report: terminal/Markdown tables per corpus and split, JSON, and a PNG chart; no scoring."""
from __future__ import annotations

import json
from pathlib import Path

METRICS = ("answer_accuracy", "citation_support", "abstain_recall", "near_miss_refusal", "off_topic_refusal",
           "false_abstention", "all_sources_cited", "unsure_share", "sure_right", "unsure_right",
           "hit@1", "hit@5", "mrr", "citation_precision", "overall_accuracy", "abstain_precision", "answer_f1",
           "latency_p50_ms", "latency_p95_ms")
HEADLINE = ("answer_accuracy", "citation_support", "abstain_recall", "false_abstention", "all_sources_cited")
TYPE_METRICS = ("n", "answer_accuracy", "hit@5", "citation_support", "overall_accuracy")


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def gap(result: dict, metric: str = "answer_accuracy") -> float:
    """Tune minus test for ``metric`` of the system on one corpus."""
    splits = result["systems"]["system"]
    return splits["tune"]["overall"][metric] - splits["test"]["overall"][metric]


def summary(report: dict) -> str:
    """One row per corpus: the headline metrics of the test split, and the tune/test gap."""
    lines = ["| corpus (test split) | articles | items | " + " | ".join(HEADLINE) + " | answer tune-test gap |",
             "|---|---:|---:|" + "---:|" * (len(HEADLINE) + 1)]
    for corpus, result in report["corpora"].items():
        test = result["systems"]["system"]["test"]["overall"]
        lines.append(f"| {corpus} | {result['articles']} | {test['n']} | "
                     + " | ".join(_fmt(test[m]) for m in HEADLINE)
                     + (f" | {gap(result):+.3f} |" if result["systems"]["system"]["tune"]["overall"]["n"] else " | |"))
        if "generated" in result["systems"]:  # qa eval --llm-url: the LLM's checked answers beside them
            test = result["systems"]["generated"]["test"]["overall"]
            lines.append(f"| {corpus}, generated | {result['articles']} | {test['n']} | "
                         + " | ".join(_fmt(test[m]) for m in HEADLINE) + " | |")
    return "\n".join(lines)


def table(result: dict) -> str:
    """One corpus: every metric for the system on both splits and the baseline on the test split, then
    the test split by item type."""
    system, baseline = result["systems"]["system"], result["systems"]["baseline"]
    generated = result["systems"].get("generated")
    extra = " generated, test |" if generated else ""
    lines = ["| metric | system, tune | system, test | baseline, test |" + extra,
             "|---|---:|---:|---:|" + ("---:|" if generated else "")]
    lines += [f"| {m} | {_fmt(system['tune']['overall'][m])} | {_fmt(system['test']['overall'][m])} | "
              f"{_fmt(baseline['test']['overall'][m])} |" + (f" {_fmt(generated['test']['overall'][m])} |" if generated else "")
              for m in METRICS + (("generated_share", "claims_supported_share") if generated else ())]
    lines += ["", "| type (test split) | " + " | ".join(f"{m} (sys / base)" for m in TYPE_METRICS) + " |",
              "|---|" + "---:|" * len(TYPE_METRICS)]
    for t, values in system["test"]["by_type"].items():
        base = baseline["test"]["by_type"][t]
        cells = [_fmt(values[m]) if m == "n" else f"{_fmt(values[m])} / {_fmt(base[m])}" for m in TYPE_METRICS]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text(report: dict) -> str:
    """The whole report as Markdown: the summary, then each corpus."""
    parts = [summary(report)]
    for corpus, result in report["corpora"].items():
        parts += ["", f"## {corpus}: {result['articles']} articles, {result['chunks']} chunks, {result['items']} items",
                  "", table(result)]
    return "\n".join(parts)


def failures(result: dict, split: str = "test") -> list[str]:
    """One line per item of ``split`` the system got wrong, with its error if it raised."""
    out = []
    for row in result["systems"]["system"]["rows"]:
        if row["split"] == split and not row["correct"]:
            what = row["error"] or ("abstained" if row["abstained"] else row["answer"][:120].replace("\n", " "))
            out.append(f"- {row['id']} ({row['type']}, confidence {row['confidence']:.2f}): {row['question']} -> {what}")
    return out


def write(report: dict, folder: Path | str) -> dict[str, Path]:
    """Write eval.json, eval.md and eval.png under ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "eval.json", "markdown": folder / "eval.md", "chart": folder / "eval.png"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    md = ["# Evaluation report", "", f"Settings: `{json.dumps(report['settings'])}`", "", text(report)]
    for corpus, result in report["corpora"].items():
        md += ["", f"## Test items the system got wrong on {corpus}", "", *failures(result)]
    paths["markdown"].write_text("\n".join(md) + "\n", encoding="utf-8")
    chart(report, paths["chart"])
    return paths


def chart(report: dict, path: Path) -> None:
    """The headline metrics of the test split on each corpus, system and baseline side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = list(report["corpora"])
    fig, axes = plt.subplots(1, len(corpora), figsize=(5 * len(corpora), 4.5), sharey=True, squeeze=False)
    for ax, corpus in zip(axes[0], corpora):
        for offset, name in ((-0.2, "system"), (0.2, "baseline")):
            values = [report["corpora"][corpus]["systems"][name]["test"]["overall"][m] for m in HEADLINE]
            ax.bar([i + offset for i in range(len(HEADLINE))], values, width=0.4, label=name)
        ax.set_xticks(range(len(HEADLINE)), [m.replace("_", " ") for m in HEADLINE], rotation=30, ha="right")
        ax.set_title(f"{corpus} (test split)")
        ax.set_ylim(0, 1.05)
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

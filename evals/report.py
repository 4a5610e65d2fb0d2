"""Write an eval report: a terminal table, JSON, Markdown and a PNG chart of both systems; no scoring."""
from __future__ import annotations

import json
from pathlib import Path

METRICS = ("answer_accuracy", "answer_f1", "hit@1", "hit@5", "mrr", "citation_support", "citation_precision",
           "overall_accuracy", "abstain_precision", "abstain_recall", "false_abstention",
           "latency_p50_ms", "latency_p95_ms")
TYPE_METRICS = ("n", "answer_accuracy", "hit@5", "citation_support", "overall_accuracy")


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(report: dict) -> str:
    """The overall metrics and the per-type ones, system beside baseline, as Markdown tables."""
    system, baseline = report["systems"]["system"], report["systems"]["baseline"]
    lines = ["| metric | system | baseline |", "|---|---:|---:|"]
    lines += [f"| {m} | {_fmt(system['overall'][m])} | {_fmt(baseline['overall'][m])} |" for m in METRICS]
    lines += ["", "| type | " + " | ".join(f"{m} (sys / base)" for m in TYPE_METRICS) + " |",
              "|---|" + "---:|" * len(TYPE_METRICS)]
    for t, values in system["by_type"].items():
        base = baseline["by_type"][t]
        cells = [_fmt(values[m]) if m == "n" else f"{_fmt(values[m])} / {_fmt(base[m])}" for m in TYPE_METRICS]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(report: dict) -> list[str]:
    """One line per item the system got wrong, with its error if it raised."""
    out = []
    for row in report["systems"]["system"]["rows"]:
        if not row["correct"]:
            what = row["error"] or ("abstained" if row["abstained"] else row["answer"][:120].replace("\n", " "))
            out.append(f"- {row['id']} ({row['type']}, confidence {row['confidence']:.2f}): {row['question']} -> {what}")
    return out


def write(report: dict, folder: Path | str) -> dict[str, Path]:
    """Write eval.json, eval.md and eval.png under ``folder``; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "eval.json", "markdown": folder / "eval.md", "chart": folder / "eval.png"}
    paths["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    md = ["# Evaluation report", "", f"Settings: `{json.dumps(report['settings'])}`", "", table(report), "",
          "## Items the system got wrong", "", *failures(report), ""]
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")
    chart(report, paths["chart"])
    return paths


def chart(report: dict, path: Path) -> None:
    """Per-type overall accuracy and hit@5 of both systems, as grouped bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = list(report["systems"]["system"]["by_type"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, metric in zip(axes, ("overall_accuracy", "hit@5")):
        for offset, name in ((-0.2, "system"), (0.2, "baseline")):
            values = [report["systems"][name]["by_type"][t][metric] for t in types]
            ax.bar([i + offset for i in range(len(types))], values, width=0.4, label=name)
        ax.set_xticks(range(len(types)), types, rotation=30, ha="right")
        ax.set_title(metric.replace("_", " "))
        ax.set_ylim(0, 1.05)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

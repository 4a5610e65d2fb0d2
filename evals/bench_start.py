"""Benchmark starting cold: `qa ask` as a fresh process, the first `ask()`, `qa serve` until it answers.

Usage: python -m evals.bench_start [--store STORE] [--rounds 5] [--out docs/benchmarks.md]

Without ``--store`` it indexes the seeds into a temporary store first (and reports how long that took,
the ONNX export included). Each round runs these one after the other, so machine noise hits all alike:
- the baseline: a fresh ``python -c "import onnxruntime, tokenizers"``;
- ``qa ask --store STORE QUESTION``: a fresh process, wall time;
- the first ``ask()``: a fresh ``python -c "from qa import ask; ask(QUESTION, store=STORE)"``, wall time;
- ``qa serve --store STORE`` on a free loopback port: wall time from the spawn until its page answers
  and until its ``/ask`` API gives the first answer (plain HTTP; the server is stopped after).
The answer's own work is the median warm ``ask()`` of the same question in this process. Reported:
medians over the rounds and ``qa ask`` as a ratio to (baseline + the answer's own work). A script,
not a test; it does not check the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import index  # noqa: F401
from evals.bench_load import _stop, free_port

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Who is John Kirby?"


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) of each fresh process, by figure


def wall(args: list[str], name: str | None = None) -> float:
    """Seconds a fresh process takes from spawn to exit (it must succeed); its CPU seconds go to ``CPU``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if name:
        CPU.setdefault(name, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return seconds


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_ready(store: Path, timeout: float = 120.0) -> tuple[float, float]:
    """Seconds from spawning ``qa serve`` until its page answers, and until its first ``/ask`` answer;
    the server's CPU seconds when its page first answered go to ``CPU``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "serve", "--store", str(store), "--port",
                             str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > timeout:
                    raise RuntimeError("qa serve did not start") from None
                time.sleep(0.05)
        page = time.perf_counter() - started
        CPU.setdefault("page", []).append(process_cpu(proc.pid))
        request = urllib.request.Request(f"{url}gradio_api/call/ask", data=json.dumps({"data": [QUESTION, None]}).encode(),
                                         headers={"Content-Type": "application/json"})
        event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
        stream = urllib.request.urlopen(f"{url}gradio_api/call/ask/{event}", timeout=60).read().decode()
        if "event: complete" not in stream or "citations" not in stream:
            raise RuntimeError(f"qa serve gave no answer: {stream[:300]}")
        return page, time.perf_counter() - started
    finally:
        _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, index_s = args.store, None
        if store is None:
            store = Path(tmp) / "store"
            index_s = wall([str(Path(sys.executable).parent / "qa"), "index", "--quiet", "--store", str(store)])
        from qa.answer import Engine
        from qa.settings import Settings

        engine = Engine(Settings.from_env(store=store))
        engine.ask(QUESTION)
        own = []
        for _ in range(20):
            started = time.perf_counter()
            engine.ask(QUESTION)
            own.append(time.perf_counter() - started)
        python = sys.executable
        figures: dict[str, list[float]] = {"baseline": [], "ask": [], "first": [], "page": [], "served": []}
        for _ in range(args.rounds):
            figures["baseline"].append(wall([python, "-c", "import onnxruntime, tokenizers"], "baseline"))
            figures["ask"].append(wall([str(Path(python).parent / "qa"), "ask", "--store", str(store), QUESTION], "ask"))
            figures["first"].append(wall([python, "-c", f"from qa import ask; ask({QUESTION!r}, store={str(store)!r})"], "first"))
            page, served = serve_ready(store)
            figures["page"].append(page)
            figures["served"].append(served)
    m = {k: statistics.median(v) for k, v in figures.items()}
    work = statistics.median(own)
    report = "\n".join([
        "| rounds | import onnxruntime, tokenizers s | answer's own work s | `qa ask` s | ratio | first `ask()` s "
        "| `qa serve` page s | `qa serve` first answer s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {args.rounds} | {m['baseline']:.2f} | {work:.3f} | {m['ask']:.2f} | {m['ask'] / (m['baseline'] + work):.2f}x | "
        f"{m['first']:.2f} | {m['page']:.2f} | {m['served']:.2f} |",
    ])
    print(report)
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    cpu_line = (f"CPU seconds (user + system, median; less sensitive to a busy machine than wall time): "
                f"import {cpu['baseline']:.2f}, qa ask {cpu['ask']:.2f} "
                f"(ratio {cpu['ask'] / (cpu['baseline'] + work):.2f}x), first ask() {cpu['first']:.2f}, "
                f"qa serve until its page answers {cpu['page']:.2f}")
    report += "\n\n" + cpu_line
    print(cpu_line)
    print("all rounds (s): " + json.dumps({k: [round(x, 2) for x in v] for k, v in figures.items()}))
    if index_s is not None:
        print(f"indexing the seeds (qa index, fresh process, ONNX export included): {index_s:.1f} s")
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n`python -m evals.bench_start --rounds {args.rounds}`\n\n{report}\n")


if __name__ == "__main__":
    main()

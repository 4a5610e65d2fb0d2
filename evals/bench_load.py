"""Load-test a running chat: N concurrent users ask M questions each through ``gradio_client``.

Usage: python -m evals.bench_load [--users 20] [--questions 25] [--url http://127.0.0.1:7860/]
       python -m evals.bench_load --minutes 10 [--users 20] [--store .qa] [--url ... --pid PID]

Without ``--url`` it starts ``qa serve`` on a free loopback port over the seeds (indexing them into
``--store``, a temporary one by default) and stops it afterwards. It first asks every question alone,
then all users at once, and reports errors, answers that differ from the one asked alone, throughput
and latency. ``--minutes`` is the soak: the users ask without pause for that long, and it reports the
same per window of time, with the server's resident memory at the start (after the questions asked
alone, the warm-up) and the end. Only loopback addresses are used. A script, not a test
(``tests/test_reliability.py`` runs a small one of each).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import index  # noqa: F401
from evals.metrics import percentile
from evals.run import load_set

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(corpus: Path, store: Path, extra_env: dict | None = None, timeout: float = 180.0):
    """A real ``qa serve`` on a free loopback port; yields its URL and process once its page answers,
    and stops it on exit. If it does not start, the error carries the end of what it printed."""
    import os

    port = free_port()
    log = tempfile.TemporaryFile()  # a file, not a pipe: nobody reads it while the server runs
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--corpus", str(corpus), "--store", str(store),
                             "--port", str(port)], cwd=ROOT, env={**os.environ, **(extra_env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except urllib.error.HTTPError:
                break  # the server answers (a login page answers 401 to some paths)
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    printed = log.read().decode(errors="replace")[-3000:]
                    raise RuntimeError(f"qa serve did not start on {url}:\n{printed}")
                time.sleep(0.2)
        yield url, proc
    finally:
        _stop(proc)
        log.close()


@contextmanager
def chroma_running(folder: Path, timeout: float = 60.0, port: int | None = None):
    """A real Chroma server (``chroma run``, from the chromadb wheel) on a free loopback port (or
    ``port``: to restart one) with its data in ``folder``; yields its URL and process, stops it on exit."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "server.log", "ab") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "data"),
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
                    time.sleep(0.2)
            yield url, proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _canonical(answer: dict) -> str:
    keep = {k: answer[k] for k in ("text", "abstained", "citations")}
    return json.dumps(keep, sort_keys=True)


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_soak(url: str, pid: int, users: int, minutes: float, window_s: float = 60.0,
             limit: int | None = None) -> dict:
    """``users`` ask one question after another for ``minutes``; the figures per ``window_s`` of time.

    Every question (the first ``limit`` of the set) is first asked alone: the answers to compare
    with, and the warm-up after which the server's memory is measured."""
    from gradio_client import Client

    questions = [(i["question"], i.get("history")) for i in load_set()][:limit]
    alone_client = Client(url, verbose=False)
    alone = [_canonical(alone_client.predict(q, h, api_name="/ask")) for q, h in questions]
    rss = [(0.0, rss_mb(pid))]
    calls: list[tuple[float, float]] = []  # (seconds since the start, latency ms)
    errors: list[str] = []
    mismatches: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + minutes * 60

    def user(n: int) -> None:
        client = Client(url, verbose=False)
        k = n * 7  # users start at different places in the set
        while time.perf_counter() < deadline:
            i = k % len(questions)
            k += 1
            asked = time.perf_counter()
            try:
                answer = _canonical(client.predict(*questions[i], api_name="/ask"))
            except Exception as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            done = time.perf_counter()
            with lock:
                calls.append((asked - started, (done - asked) * 1000))
                if answer != alone[i]:
                    mismatches.append(questions[i][0])

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(min(1.0, window_s))
        if time.perf_counter() - started >= rss[-1][0] + window_s:
            rss.append((round(time.perf_counter() - started, 1), rss_mb(pid)))
    rss.append((round(time.perf_counter() - started, 1), rss_mb(pid)))
    windows = []
    for w in range(max(1, -(-int(minutes * 60) // int(window_s)))):
        lat = [ms for at, ms in calls if w * window_s <= at < (w + 1) * window_s]
        windows.append({"from_s": w * window_s, "requests": len(lat), "p50_ms": round(percentile(lat, 50), 1),
                        "p95_ms": round(percentile(lat, 95), 1)})
    everything = [ms for _, ms in calls]
    start_mb, end_mb = rss[0][1], rss[-1][1]
    return {"users": users, "minutes": minutes, "questions": len(questions), "requests": len(calls) + len(errors),
            "errors": len(errors), "error_samples": errors[:3], "mismatches": len(mismatches),
            "mismatch_samples": mismatches[:3], "p50_ms": round(percentile(everything, 50), 1),
            "p95_ms": round(percentile(everything, 95), 1), "windows": windows, "rss_mb": rss,
            "rss_start_mb": start_mb, "rss_end_mb": end_mb, "rss_growth": round(end_mb / start_mb - 1, 4)}


def run_load(url: str, users: int, per_user: int) -> dict:
    """Ask alone, then concurrently; return the figures."""
    from gradio_client import Client

    items = load_set()
    questions = [(i["question"], i.get("history")) for i in items]
    alone_client = Client(url, verbose=False)
    alone = {q: _canonical(alone_client.predict(q, h, api_name="/ask")) for q, h in questions}
    latencies: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []
    lock = threading.Lock()

    def user(n: int) -> None:
        client = Client(url, verbose=False)
        for k in range(per_user):
            q, h = questions[(n * per_user + k) % len(questions)]
            started = time.perf_counter()
            try:
                answer = _canonical(client.predict(q, h, api_name="/ask"))
            except Exception as err:
                with lock:
                    errors.append(f"{type(err).__name__}: {err}")
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                if answer != alone[q]:
                    mismatches.append(q)

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"users": users, "questions_each": per_user, "requests": users * per_user, "errors": len(errors),
            "error_samples": errors[:3], "mismatches": len(mismatches), "seconds": round(wall, 2),
            "throughput_rps": round(len(latencies) / wall, 2), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--questions", type=int, default=25)
    parser.add_argument("--url")
    parser.add_argument("--minutes", type=float, help="Soak: ask without pause for this long.")
    parser.add_argument("--window", type=float, default=60.0, help="Soak: seconds per reported window.")
    parser.add_argument("--pid", type=int, help="Soak with --url: the server's process id (for its memory).")
    parser.add_argument("--store", type=Path, help="Without --url: the store to serve (indexed if empty).")
    args = parser.parse_args()

    def bench(url: str, pid: int | None) -> dict:
        if args.minutes is None:
            return run_load(url, args.users, args.questions)
        if pid is None:
            parser.error("--minutes with --url needs --pid (the server's memory is part of the report)")
        return run_soak(url, pid, args.users, args.minutes, args.window)

    if args.url:
        result = bench(args.url, args.pid)
    else:
        with tempfile.TemporaryDirectory() as tmp, \
                served(ROOT / "seeds", args.store or Path(tmp) / "store") as (url, proc):
            result = bench(url, proc.pid)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

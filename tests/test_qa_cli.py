import json
import os
import subprocess
import sys

from conftest import ROOT


def qa(*args, env=None):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def no_progress_bar(stderr: str) -> bool:
    return "%|" not in stderr and "it/s]" not in stderr


def test_ask_json_prints_one_json_object_and_nothing_else(seed_store):
    result = qa("ask", "--json", "--store", str(seed_store), "Who is John Kirby?")
    assert result.returncode == 0, result.stderr
    assert no_progress_bar(result.stderr), result.stderr  # loading the model draws nothing
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False and answer["citations"][0]["source"].startswith("002")
    assert answer["citations"][0]["date"] is None  # the source line's "date not stated", as data


def test_ask_prints_the_answer_and_numbered_sources(seed_store):
    result = qa("ask", "Who is John Kirby?", env={"QA_STORE": str(seed_store)})
    assert result.returncode == 0
    assert "[1]" in result.stdout and "Sources:" in result.stdout and "002_ba217a2ed2169bbe.txt" in result.stdout


def test_an_unsure_answer_says_so_before_it_and_a_sure_one_does_not(seed_store):
    unsure = qa("ask", "Did Israel agree to a ceasefire?", "--store", str(seed_store))
    assert unsure.returncode == 0, unsure.stderr
    assert unsure.stdout.startswith("Not sure: this is the closest the articles come, and it may not answer the "
                                    "question (confidence 0.")
    assert "[1]" in unsure.stdout.splitlines()[1] and "Sources:" in unsure.stdout
    sure = qa("ask", "What is the death toll in Gaza?", "--store", str(seed_store))
    assert sure.returncode == 0 and "Not sure" not in sure.stdout and "23,000" in sure.stdout.splitlines()[0]


def test_a_refusal_lists_the_closest_passages_each_with_where_it_is(seed_store):
    result = qa("ask", "Who won the football world cup?", "--store", str(seed_store))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The articles do not answer this question.")
    listed = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert 1 <= len(listed) <= 3 and all(", characters " in line and ": “" in line for line in listed)
    assert len(set(listed)) == len(listed)  # two passages of one article are told apart


def test_errors_are_one_line_messages_not_tracebacks(tmp_path):
    result = qa("ask", "Who?", "--store", str(tmp_path / "none"))
    assert result.returncode == 1
    assert f"run `qa index --store {tmp_path / 'none'}` first" in result.stderr and "Traceback" not in result.stderr
    result = qa("ask", "   ", "--store", str(tmp_path / "none"))
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_index_prints_a_summary_with_skipped_files(corpus, tmp_path):
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00\x00")
    result = qa("index", "--quiet", "--corpus", str(corpus), "--store", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert no_progress_bar(result.stderr), result.stderr  # neither the model load nor the BM25 save
    assert "5 added, 0 updated, 0 removed, 0 unchanged, 1 skipped" in result.stdout
    assert "skipped bad.txt: binary file" in result.stdout


def test_flags_the_user_gave_are_named_in_their_errors(seed_store, tmp_path):
    result = qa("ask", "--store", str(seed_store), "--top-k", "0", "Who is John Kirby?")
    assert result.returncode == 1
    assert "the number of passages (--top-k, QA_TOP_K) must be at least 1, got 0" in result.stderr
    assert "min_confidence" not in result.stderr
    result = qa("index", "--corpus", str(ROOT / "seeds" / "000_af78f88671f86985.txt"), "--store", str(tmp_path / "s"))
    assert result.returncode == 1 and "is a file, not a folder" in result.stderr and "Traceback" not in result.stderr


def test_serve_on_a_taken_port_says_so_in_one_line(seed_store):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = qa("serve", "--store", str(seed_store), "--port", str(port))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"port 127.0.0.1:{port} cannot be used" in result.stderr and "--port" in result.stderr


def test_a_follow_up_from_the_shell_leans_on_its_history(seed_store, tmp_path):
    first = json.loads(qa("ask", "--json", "--store", str(seed_store), "Who is Naim Qassem?").stdout)
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": "Who is Naim Qassem?"},
                                   {"role": "assistant", "content": first["text"]}]))
    result = qa("ask", "--json", "--store", str(seed_store), "--history", str(history), "What did he say about a war?")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "Qassem" in answer["query"] and not answer["abstained"]  # "he" read as the man asked about before
    history.write_text("[{")
    bad = qa("ask", "--store", str(seed_store), "--history", str(history), "What did he say?")
    assert bad.returncode == 1 and "--history is not JSON" in bad.stderr and "Traceback" not in bad.stderr

import json
import os
import subprocess
import sys
from collections import Counter

from evals.run import QA_SET, check_set, load_set

from conftest import ROOT, SEEDS


def test_the_qa_set_is_sound():
    items = load_set(QA_SET)
    assert check_set(items, SEEDS) == []
    assert len(items) >= 60
    counts = Counter(i["type"] for i in items)
    assert counts["unanswerable"] >= 10
    assert all(counts[t] >= 4 for t in ("who", "number", "fact", "paraphrase", "multi", "disagree", "followup"))
    assert all(i["history"] for i in items if i["type"] == "followup")


def test_check_set_finds_problems():
    items = [{"id": "a", "question": "q", "answer": "x", "aliases": ["x"], "sources": ["000_af78f88671f86985.txt"],
              "evidence": [{"source": "000_af78f88671f86985.txt", "text": "not in the article"}], "type": "fact"},
             {"id": "a", "question": "q", "answer": "", "aliases": [], "sources": ["x"], "evidence": [],
              "type": "unanswerable"}]
    problems = check_set(items, SEEDS)
    assert any("not found verbatim" in p for p in problems)
    assert any("duplicate id" in p for p in problems)
    assert any("no sources" in p for p in problems)


def test_qa_eval_reports_both_systems_and_guards_floors(seed_store, tmp_path):
    env = {**os.environ, "QA_STORE": str(seed_store)}
    run = subprocess.run([sys.executable, "-m", "qa", "eval", "--reports", str(tmp_path / "r"),
                          # the figures reached (docs/evals.md) less a small margin: a regression fails CI
                          "--min-answer", "0.74", "--min-hit5", "0.87", "--min-citation", "0.82",
                          "--min-abstain-recall", "0.6", "--min-overall", "0.72"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "r" / "eval.json").read_text())
    system, baseline = report["systems"]["system"]["overall"], report["systems"]["baseline"]["overall"]
    assert system["errors"] == 0 and len(report["systems"]["system"]["rows"]) == len(load_set(QA_SET))
    assert system["answer_accuracy"] > baseline["answer_accuracy"]
    assert system["hit@5"] >= baseline["hit@5"]
    assert (tmp_path / "r" / "eval.md").read_text().count("|") > 50
    assert (tmp_path / "r" / "eval.png").stat().st_size > 10_000
    too_high = subprocess.run([sys.executable, "-m", "qa", "eval", "--reports", str(tmp_path / "r2"),
                               "--min-answer", "0.99"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert too_high.returncode == 1 and "quality floor missed" in too_high.stderr

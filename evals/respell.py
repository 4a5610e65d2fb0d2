"""Ask the eval's questions as written, respelt (British/American) and with one typo: same answers?

    python -m evals.respell [--workdir .qa-eval]

A reader who types "defence" over articles that write "defense", or "hotsages" for "hostages", asks the
same question; the answer should not depend on it. Two checks over the items of the Q&A set and of the
fresh readers' check, on each eval corpus:
- respelt: the items whose question holds a word English spells two ways (breame's list, as
  ``qa.spelling`` uses it), asked with each such word spelt the other way (``respell``);
- misspelt: every item, asked with two neighbouring letters of its longest word swapped (``misspell``,
  a fixed rule set before any run: the most common kind of typo, on the word most likely to matter).
For each: is the answer the same both ways, and is it right as written and as changed (an alias in the
answer; a refusal for an unanswerable item). It fits and chooses nothing; both splits are read.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from evals.corpora import CORPORA
from evals.run import QA_SET, is_correct, items_for, load_set, prepare
from qa.spelling import other_spelling, replace_words

FRESH_SET = Path(__file__).parent / "fresh.jsonl"


def respell(question: str) -> str:
    """``question`` with each word English spells two ways in its other spelling.

    >>> respell("Who is Israel's Defence minister, and where is the center?")
    "Who is Israel's Defense minister, and where is the centre?"
    """
    return replace_words(question, other_spelling)


def misspell(question: str) -> str:
    """``question`` with two neighbouring letters swapped in its longest word of 6 letters or more (the
    first of the longest), at the middle or the nearest place where the two letters differ.

    >>> misspell("How many hostages are still held in Gaza?")
    'How many hosatges are still held in Gaza?'
    >>> misspell("Who is he?")
    'Who is he?'
    """
    words = [m for m in re.finditer(r"[A-Za-z]+", question) if len(m.group()) >= 6]
    if not words:
        return question
    longest = max(words, key=lambda m: len(m.group()))
    word = longest.group()
    middle = len(word) // 2 - 1
    for i in sorted(range(1, len(word) - 2), key=lambda i: (abs(i - middle), i)):
        if word[i] != word[i + 1]:
            word = word[:i] + word[i + 1] + word[i] + word[i + 2:]
            break
    return question[: longest.start()] + word + question[longest.end():]


def main(argv: list[str] | None = None) -> None:
    from qa.answer import Engine
    from qa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path(".qa-eval"))
    args = parser.parse_args(argv)
    items = load_set(QA_SET) + load_set(FRESH_SET)
    settings = Settings.from_env()
    rows: dict[str, list[dict]] = {"respelt": [], "misspelt": []}
    for corpus in CORPORA:
        engine = Engine(prepare(corpus, args.workdir, settings))
        for item in items_for(corpus, items):
            written = None
            for check, change in (("respelt", respell), ("misspelt", misspell)):
                other = change(item["question"])
                if other == item["question"]:
                    continue
                written = written or engine.ask(item["question"], item.get("history"))
                changed = engine.ask(other, item.get("history"))
                rows[check].append({"corpus": corpus, "id": item["id"], "same_answer": written.text == changed.text,
                                    "right_as_written": is_correct(item, written.text, written.abstained),
                                    "right_changed": is_correct(item, changed.text, changed.abstained)})
    def counts(done: list[dict]) -> dict:
        return {"pairs": len(done), **{key: sum(r[key] for r in done)
                                      for key in ("same_answer", "right_as_written", "right_changed")}}

    report = {check: counts(done) | {corpus: counts([r for r in done if r["corpus"] == corpus]) for corpus in CORPORA}
              for check, done in rows.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

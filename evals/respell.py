"""Ask every eval question that has a word English spells two ways, as written and respelt the other way.

    python -m evals.respell [--workdir .qa-eval]

A reader who types "defence" over articles that write "defense" (or "center" over "centre") asks the
same question; the answer should not depend on it. For each item of the Q&A set and of the fresh
readers' check whose question holds such a word (breame's list, as ``qa.spelling`` uses it), on each
eval corpus: is the answer the same both ways, and is it right as written and respelt (an alias in the
answer; a refusal for an unanswerable item). It fits and chooses nothing; both splits are read.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from evals.corpora import CORPORA
from evals.metrics import answer_matches
from evals.run import QA_SET, items_for, load_set, prepare

FRESH_SET = Path(__file__).parent / "fresh.jsonl"


def respell(question: str) -> str:
    """``question`` with each word English spells two ways in its other spelling.

    >>> respell("Who is Israel's Defence minister, and where is the center?")
    "Who is Israel's Defense minister, and where is the centre?"
    """
    from breame.data.spelling_constants import AMERICAN_ENGLISH_SPELLINGS, BRITISH_ENGLISH_SPELLINGS

    def swap(match: re.Match) -> str:
        word = match.group()
        other = BRITISH_ENGLISH_SPELLINGS.get(word.lower()) or AMERICAN_ENGLISH_SPELLINGS.get(word.lower())
        if not other:
            return word
        return other.capitalize() if word[0].isupper() else other

    return re.sub(r"\w+", swap, question)


def _right(answer, item: dict) -> bool:
    if item["type"] == "unanswerable":
        return answer.abstained
    return not answer.abstained and answer_matches(answer.text, item["aliases"])


def main(argv: list[str] | None = None) -> None:
    from qa.answer import Engine
    from qa.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path(".qa-eval"))
    args = parser.parse_args(argv)
    items = load_set(QA_SET) + load_set(FRESH_SET)
    settings = Settings.from_env()
    rows = []
    for corpus in CORPORA:
        engine = Engine(prepare(corpus, args.workdir, settings))
        for item in items_for(corpus, items):
            other = respell(item["question"])
            if other == item["question"]:
                continue
            written, respelt = engine.ask(item["question"], item.get("history")), engine.ask(other, item.get("history"))
            rows.append({"corpus": corpus, "id": item["id"], "same_answer": written.text == respelt.text,
                         "right_as_written": _right(written, item), "right_respelt": _right(respelt, item)})
    summary = {key: sum(r[key] for r in rows) for key in ("same_answer", "right_as_written", "right_respelt")}
    print(json.dumps({"pairs": len(rows), **summary, "differing": [r for r in rows if not r["same_answer"]]}, indent=1))


if __name__ == "__main__":
    main()

"""A question clearly not in English is told that the articles are matched in English (qa.language)."""
import json

from qa.answer import ABSTAIN_TEXT, ask
from qa.language import foreign_language

from conftest import ROOT


def test_no_question_of_the_eval_is_called_foreign():
    # 375 English questions, sloppy and lowercase ones among them: the cost of a false call is a wrong refusal text
    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "qa.jsonl").open(encoding="utf-8")]
    assert len(questions) > 200
    assert [q for q in questions if foreign_language(q)] == []


def test_a_clearly_foreign_question_is_told_why_it_is_refused(seed_store):
    for question, language in (("Combien de personnes ont été déplacées à Gaza ?", "French"),
                               ("Was hat Blinken über den Krieg in der Ukraine gesagt?", "German"),
                               ("Кто такой Мэтью Миллер?", "Russian"),
                               ("约翰·柯比是谁？", "Chinese"),  # short: told by its script, the identifier is unsure
                               ("Кто такой Джон Кирби?", "Russian")):
        answer = ask(question, store=seed_store)
        assert answer.abstained and not answer.citations
        assert answer.text.startswith(f"This question seems to be in {language}") and "English articles" in answer.text
    assert ask("Who won the 2024 US presidential election?", store=seed_store).text == ABSTAIN_TEXT


def test_a_foreign_word_is_not_read_as_a_misspelt_english_one(seed_store):
    answer = ask("Qui est le porte-parole du département d'État américain ?", store=seed_store)
    assert answer.read_as == ""  # "américain" is French, not a misspelling of "american"

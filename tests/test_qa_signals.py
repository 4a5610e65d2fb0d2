"""The answer signals: each pure function on cases that matter for rewording, near misses and corpus size."""
import numpy as np
import pytest

from qa.evidence import answer_type
from qa.signals import (FEATURES, GAPS, Term, add_gaps, already_given, best_matches, best_per_text, content_words,
                        local_terms, logistic, pair_share, question_terms, sigmoid_margin, signal_row, signal_table,
                        soft_matches, stems, weakest, weighted_shares)
from qa.words import WordVectors


def test_question_terms_drop_question_words_and_weight_history_half():
    terms = question_terms("How many people did the army kill?", "Khan Younis", lambda s: 2.0)
    assert [t.word for t in terms] == ["people", "army", "kill", "khan", "younis"]
    assert [t.own for t in terms] == [True, True, True, False, False]
    assert [t.weight for t in terms] == [2.0, 2.0, 2.0, 1.0, 1.0]


def test_a_word_the_corpus_never_uses_is_not_weighted_above_every_real_one():
    from qa.retrieve import Vocabulary

    vocabulary = Vocabulary({"gaza": 3, "kirbi": 1}, documents=100)
    assert vocabulary.idf("noncombat") == vocabulary.idf("kirbi") > vocabulary.idf("gaza")
    assert vocabulary.knows("gaza") and not vocabulary.knows("noncombat")


def test_soft_matches_give_exact_stems_one_and_numbers_no_partial_credit():
    terms = [Term("journalists", "journalist", 1.0), Term("23", "23", 1.0), Term("killed", "kill", 1.0)]
    term_vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    words = np.array([[0.6, 0.8]])  # one word of the text, close to both
    matches = soft_matches(terms, term_vectors, frozenset({"kill"}), words)
    assert matches.tolist() == [0.6, 0.0, 1.0]
    assert soft_matches(terms, term_vectors, frozenset(), np.zeros((0, 2))).tolist() == [0.0, 0.0, 0.0]


def test_rewording_scores_above_a_near_miss_with_real_word_vectors(seeded):
    """With the packaged model: 'reporters' is nearly 'journalists'; 'soldiers' is not."""
    from index.embed import load_embedder

    words = WordVectors(load_embedder().get_text_embedding_batch)
    terms = [Term("journalists", "journalist", 1.0)]
    vectors = words.vectors(["journalists", "reporters", "soldiers"])
    reworded = soft_matches(terms, np.array([vectors["journalists"]]), frozenset(), np.array([vectors["reporters"]]))
    near_miss = soft_matches(terms, np.array([vectors["journalists"]]), frozenset(), np.array([vectors["soldiers"]]))
    assert reworded[0] > 0.8 > 0.5 > near_miss[0]


def test_word_vectors_embed_each_new_word_once_and_stay_bounded():
    calls = []

    def embed(words):
        calls.append(list(words))
        return [[float(len(w)), 1.0] for w in words]

    cache = WordVectors(embed, capacity=2)
    first = cache.vectors(["aa", "bbb", "aa"])
    assert calls == [["aa", "bbb"]] and set(first) == {"aa", "bbb"}
    assert np.isclose(np.linalg.norm(first["bbb"]), 1.0)
    cache.vectors(["bbb"])
    assert calls == [["aa", "bbb"]]  # cached
    cache.vectors(["cccc"])  # evicts the first embedded ("aa")
    assert cache.vectors(["bbb"]) and calls[-1] == ["cccc"]
    cache.vectors(["aa"])
    assert calls[-1] == ["aa"]


def test_weighted_shares_and_weakest():
    terms = [Term("a", "a", 3.0), Term("b", "b", 1.0)]
    assert weighted_shares(np.array([[1.0, 0.0]]), terms).tolist() == [0.75]
    assert weighted_shares(np.zeros((2, 0)), []).tolist() == [0.0, 0.0]
    assert weakest(np.array([[1.0, 0.2]]), terms, heaviest=1).tolist() == [1.0]
    assert weakest(np.array([[1.0, 0.2]]), terms).tolist() == [0.2] and weakest(np.zeros((2, 0)), []).tolist() == [0.0, 0.0]


def test_signal_row_has_every_feature_and_gaps_are_relative_to_the_best():
    terms = [Term("toll", "toll", 1.0), Term("gaza", "gaza", 1.0, own=False)]
    common = dict(passage_dense=0.5, lexical=0.5, kind="number", question="How many died?", retrieval=1.0,
                  both_sides=True, passage_rank=0, known=[True, False], focus_stems=frozenset({"die"}))
    a = signal_row(terms, np.array([1.0, 1.0]), np.array([1.0, 1.0]), dense=0.7, sentence="The toll passed 23,000.", **common)
    b = signal_row(terms, np.array([0.3, 1.0]), np.array([0.3, 1.0]), dense=0.4, sentence="Gaza was quiet on Monday.", **common)
    assert len(a) == len(FEATURES)
    row = dict(zip(FEATURES, b))
    assert row["own_soft"] == 0.3 and row["unmatched"] == 1.0 and row["type_missing"] == 1.0
    assert row["absent"] == 0.5 and row["absent_unmatched"] == 0.0  # "gaza" is unknown but said around it
    assert dict(zip(FEATURES, a))["typed"] == 1.0 and dict(zip(FEATURES, a))["focused"] == 0.0
    gapped = [dict(zip(FEATURES, r)) for r in add_gaps([a, b])]
    assert gapped[0]["dense_gap"] == 0.0 and round(gapped[1]["dense_gap"], 6) == -0.3
    assert set(GAPS) <= set(FEATURES)


def test_the_table_of_every_candidate_gives_each_candidate_its_own_row():
    """``ask()`` scores a question's ~60 candidates in one table: each row must be what the sentence gets
    alone, whatever the others (random matches, terms from the conversation, unknown words, local weights)."""
    rng = np.random.default_rng(7)
    terms = [Term("toll", "toll", 2.5), Term("gaza", "gaza", 1.0), Term("kirby", "kirbi", 0.7, own=False),
             Term("24", "24", 3.0)]
    local = local_terms(terms, [frozenset({"toll", "gaza"}), frozenset({"gaza"})])
    sentences = ["The toll passed 23,000 in Gaza.", "Kirby spoke on Monday.", "Quiet.", "About 24 trucks went in."]
    n = len(sentences)
    per_sentence = dict(dense=rng.random(n).tolist(), passage_dense=rng.random(n).tolist(),
                        lexical=rng.random(n).tolist(), retrieval=rng.random(n).tolist(),
                        both_sides=[True, False, True, False], passage_rank=[0, 3, 1, 2], sentence_rank=[None, 0, 4, None])
    common = dict(kind="number", question="How many died in Gaza, Kirby said?", focus_stems=frozenset({"die"}),
                  known=[True, True, False, True], local=local)
    own, around = rng.random((n, len(terms))), rng.random((n, len(terms)))
    table = signal_table(terms, own, around, sentences=sentences, **per_sentence, **common)
    for i in range(n):
        alone = signal_row(terms, own[i], around[i], sentence=sentences[i], **common,
                           **{k: v[i] for k, v in per_sentence.items()})
        assert table[i].tolist() == alone
    # soft matches of many texts from one product of the terms with every word of the candidates
    term_vectors, words = rng.random((len(terms), 3)), rng.random((6, 3))
    texts = (([1, 4], frozenset({"gaza"})), ([5], frozenset()), ([], frozenset({"24"})), ([0, 1, 2, 3], frozenset()))
    together = best_matches(terms, [s for _, s in texts], best_per_text(term_vectors @ words.T, [c for c, _ in texts]))
    for row, (columns, text_stems) in zip(together, texts):
        assert row.tolist() == soft_matches(terms, term_vectors, text_stems, words[columns]).tolist()


def test_local_weights_put_the_asked_detail_above_the_topic_whatever_the_corpus():
    """A near miss: every retrieved passage is about Blinken, none says what Netanyahu replied. Weighted
    by the corpus, "blinken" is rare among unrelated pages and outweighs "replied"; weighted by the
    retrieved passages, the missing detail does, and the corpus's size does not enter."""
    passages = [stems("Blinken met Netanyahu in Tel Aviv."), stems("Blinken urged a pause."), stems("Blinken flew on.")]
    for idf in (lambda s: 5.0 if s == "blinken" else 1.0, lambda s: 1.0):  # many distractors; the articles alone
        terms = question_terms("What did Netanyahu reply to Blinken?", "", idf)
        local = {t.word: t.weight for t in local_terms(terms, passages)}
        assert local["reply"] > local["netanyahu"] > local["blinken"] > 0
    terms = question_terms("What did Netanyahu reply to Blinken?", "", lambda s: 5.0 if s == "blinken" else 1.0)
    row = dict(zip(FEATURES, signal_row(
        terms, np.array([1.0, 0.2, 1.0]), np.array([1.0, 0.2, 1.0]), dense=0.6, passage_dense=0.6, lexical=0.9,
        kind=None, sentence="Blinken met Netanyahu.", question="What did Netanyahu reply to Blinken?",
        focus_stems=frozenset(), retrieval=1.0, both_sides=True, passage_rank=0, known=[True, True, True],
        local=local_terms(terms, passages))))
    assert row["soft"] > 0.8 > 0.5 > row["local_soft"]  # said in the corpus's weights, not in the passages'
    assert row["local_unmatched"] > 0.5 > row["unmatched"]
    assert local_terms([Term("a", "a", 1.0, own=False)], [])[0].weight == 0.5 * np.log(1 / 0.5)


def test_logistic_and_margin():
    model = {"mean": [0.0, 0.0], "scale": [1.0, 2.0], "coef": [1.0, 1.0], "intercept": -1.0}
    assert logistic(model, np.array([[1.0, 0.0]])).tolist() == [0.5]
    assert sigmoid_margin(0.5, 0.5) == 0.5 and sigmoid_margin(0.99, 0.01) > 0.99


def test_already_given_ignores_markers_case_and_punctuation():
    history = [{"role": "user", "content": "Who is Kirby?"},
               {"role": "assistant", "content": "White House spokesman John Kirby said so. [1]"}]
    assert already_given(["white house spokesman John Kirby said so."], history) == [True]
    assert already_given(["Kirby said something else."], history) == [False]
    assert already_given(["Who is Kirby?"], history) == [False]  # only what the assistant said counts
    assert already_given(["Kirby said so."], history[:1]) == [False] and already_given(["Kirby said so."], []) == [False]


def test_content_words_and_stems():
    assert content_words("Blinken’s 4th trip, in 2024") == ("blinken", "4th", "trip", "2024")
    assert content_words("the settlers' homes") == ("settlers", "homes")
    assert stems("hostages released") == frozenset({"hostag", "releas"})


def test_a_phrase_of_the_question_counts_only_said_in_its_order_and_close_together():
    question = "whats the gaza death toll at the time of blinkens january visit"
    stated = "The death toll in the Palestinian enclave has surpassed 23,000."
    scattered = "Nearly 240 Palestinians were killed in the West Bank, and the toll of the war on Gaza grew."
    assert pair_share(question, stated) > pair_share(question, scattered) == 0.0
    # the same words of the question, one pair in its order within three content words, the other reversed
    assert pair_share("death toll in Gaza", "Gaza: the death toll") == 0.5
    # stems, so the inflection does not matter; no pair in a one-word question; in the row as "pairs"
    assert pair_share("Hostages released", "the hostage was releasing") == 1.0
    assert pair_share("Kirby?", "Kirby said") == 0.0
    row = signal_row([Term("toll", "toll", 1.0)], np.array([1.0]), np.array([1.0]), dense=0.5, passage_dense=0.5,
                     lexical=1.0, kind=None, sentence=stated, question=question, focus_stems=frozenset(),
                     retrieval=1.0, both_sides=True, passage_rank=0, known=[True])
    assert row[FEATURES.index("pairs")] == round(pair_share(question, stated), 6) > 0


def test_a_figure_must_stand_near_what_the_question_counts():
    from qa.evidence import focus, typed_near
    from qa.signals import stems

    counted = stems(" ".join(focus("How many aid trucks entered Gaza?")))
    assert typed_near("number", "Some 200 aid trucks entered on Sunday.", "How many aid trucks?", counted)
    assert not typed_near("number", "Six soldiers were killed in Gaza.", "How many aid trucks?", counted)


@pytest.mark.parametrize("question, kind", [
    ("When did Blinken land in Israel?", "time"),
    ("so when did he land", "time"),
    ("What was tangled around the whale, and when will rescuers try again?", "time"),
    ("The cabinet agreed to a UN visit — when is it supposed to happen?", "time"),
    ("On what day did Blinken arrive?", "time"),
    # "when" joining a clause asks for no time: these were refused for want of a date
    ("What did the war cabinet agree to when Blinken asked?", None),
    ("Who did Blinken meet with when he went on to Cairo?", "person"),
    ("Where was he when he said that?", "place"),
])
def test_when_asks_for_a_time_only_where_it_opens_the_question_or_a_clause(question, kind):
    assert answer_type(question) == kind

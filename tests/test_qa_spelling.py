"""qa.spelling: one spelling for words English writes two ways, for matching only."""
import Stemmer

from qa.evidence import stem_words, terms
from qa.spelling import american_spellings, corrected, fold_counts, other_spellings


def test_british_words_take_their_american_spelling_and_others_stay():
    american = american_spellings()
    assert [american.get(w, w) for w in ("defence", "labour", "centre", "organisation", "travelled")] == [
        "defense", "labor", "center", "organization", "traveled"]
    assert [american.get(w, w) for w in ("defense", "hostages", "gaza", "hour", "four")] == [
        "defense", "hostages", "gaza", "hour", "four"]


def test_both_spellings_give_the_same_stems():
    assert stem_words(["defence", "centre", "labour"]) == stem_words(["defense", "center", "labor"])
    assert terms("The Defence Minister's office") == terms("The Defense Minister's office")


def test_the_keyword_query_gets_the_other_spelling_of_each_word_once():
    assert other_spellings("Defence minister, defence force and the Center") == ["defense", "centre"]
    assert other_spellings("Who is John Kirby?") == []


def test_document_frequencies_count_both_spellings_under_the_american_stem():
    stem = Stemmer.Stemmer("english").stemWords
    counts = {stem(["defence"])[0]: 2, stem(["defense"])[0]: 3, "war": 4}
    folded = fold_counts(counts, stem)
    assert folded[stem_words(["defence"])[0]] == 5
    assert folded[stem(["defence"])[0]] == 2 and folded["war"] == 4  # nothing taken away


def test_a_misspelt_word_is_read_as_the_nearest_word_of_the_passages():
    words = ["netanyahu", "ceasefire", "hostages", "blinken"]
    assert corrected("What did Netanyhu say of the cesefire?", ["netanyhu", "cesefire"], words) == \
        "What did Netanyahu say of the ceasefire?"
    assert corrected("how many hotsages", ["hotsages"], words) == "how many hostages"  # two letters swapped
    assert corrected("who is the us ambasador", ["ambasador"], ["ambassador"]) == "who is the us ambassador"


def test_a_word_is_not_replaced_by_one_too_far_from_it():
    assert corrected("who is blinkov", ["blinkov"], ["blinken"]) is None  # two edits on a 7-letter word
    assert corrected("change my pin in the commbank app", ["commbank"], ["command"]) is None
    assert corrected("what about the rafah crossing", [], ["rafah"]) is None

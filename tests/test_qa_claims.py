"""The per-sentence checker of generated answers (qa/claims.py), on stored replies of a real model."""
from qa.claims import SUPPORT_THRESHOLD, check, check_reply, is_refusal, missing, split_claims, support_score

KIRBY = ("According to White House national security spokesman John Kirby, the United States is not pushing for "
         "a total cease-fire, but rather, a “temporary, localized” one.")
WEST_BANK = ("Since the October 7 attack on Israel and its ensuing war against Hamas in Gaza, violence in the West Bank "
             "has flared, with nearly 240 Palestinians killed by Israeli soldiers or settlers, according to the "
             "Palestinian health ministry.")
GIVEN = [KIRBY, WEST_BANK]


def test_stored_smollm2_reply_with_an_invented_role_is_unsupported():
    # SmolLM2-135M's actual reply to "Who is John Kirby?" with these sentences numbered
    [claim] = check_reply("John Kirby is a US Secretary of State Antony Blinken.", GIVEN)
    assert not claim.supported
    assert claim.cited == ()  # it gave no marker, and no given sentence holds Antony Blinken


def test_fabricated_figure_or_name_is_never_supported_whatever_the_score():
    claim = check("According to White House national security spokesman John Kirby, the United States is not "
                  "pushing for a total cease-fire of 30 days [1].", [1], GIVEN)
    assert claim.score >= SUPPORT_THRESHOLD and not claim.supported and claim.missing == ("30",)
    claim = check("Nearly 240 Palestinians were killed in the West Bank, Antony Blinken said.", [2], GIVEN)
    assert not claim.supported and set(claim.missing) == {"antony", "blinken"}


def test_a_faithful_paraphrase_with_the_same_figures_and_names_is_supported():
    [claim] = check_reply("Nearly 240 Palestinians have been killed in the West Bank by Israeli soldiers or "
                          "settlers, the Palestinian health ministry says [2].", GIVEN)
    assert claim.supported and claim.cited == (2,) and not claim.attributed


def test_markers_to_sentences_not_given_and_wrong_citations():
    assert check("Kirby is a spokesman.", [7], GIVEN).reason == "cites [7], which it was not given"
    wrong = check("Nearly 240 Palestinians were killed in the West Bank.", [1], GIVEN)
    assert not wrong.supported  # true, but not what sentence 1 says


def test_splitting_keeps_markers_with_their_sentence():
    assert split_claims("Kirby spoke [1]. [2] He left.") == [("Kirby spoke.", (1, 2)), ("He left.", ())]
    assert split_claims("Gen. Halevi said so [Source 2].") == [("Gen. Halevi said so.", (2,))]
    assert split_claims("") == []


def test_refusals_and_scores():
    assert is_refusal("The articles do not answer this question.")
    assert is_refusal("The sentences don't mention the score.")
    assert not is_refusal("Kirby said no [1].")
    assert support_score("", ["x"]) == 0.0
    assert check("The no. [1]", [1], GIVEN).reason == "it says nothing that can be checked"  # SmolLM2 wrote that
    assert missing("Six were killed on Monday.", ["6 were killed Monday."]) == ()


def test_markup_is_kept_as_text_not_interpreted():
    [claim] = check_reply("<script>alert(1)</script> Nearly 240 Palestinians were killed in the West Bank [2].", GIVEN)
    assert claim.text.startswith("<script>alert(1)</script>")

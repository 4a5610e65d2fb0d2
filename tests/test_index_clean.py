from index.clean import clean, drop_rule, is_caption_pair
from index.read import read_article

from conftest import SEEDS

BOILERPLATE = [
    "Leave a comment",
    "Your email address will not be published. Required fields are marked *",
    "READ ALSO",
    "Get real time updates directly on you device, subscribe now.",
    "© Copyright AFP 2024. All rights reserved.",
    "GOVERNMENT PRESS OFFICE / HANDOUEFE",
    "To know ms",
    "■",
]


def seed(name):
    return read_article(next(SEEDS.glob(f"{name}_*.txt")))


def body_text(article):
    return "\n".join(article.text[s.start:s.end] for s in article.body)


def test_boilerplate_of_the_seeds_is_gone_from_the_body():
    for path in sorted(SEEDS.glob("*.txt")):
        text = body_text(read_article(path))
        for line in BOILERPLATE:
            assert line not in text, (path.name, line)


def test_every_character_is_either_kept_or_removed_by_a_named_rule():
    """Cleaning alters nothing: each non-space character of the original is in exactly one body span or
    one removed span, and body spans are verbatim slices of the original."""
    for path in sorted(SEEDS.glob("*.txt")):
        article = read_article(path)
        owner = [0] * len(article.text)
        for span in list(article.body) + [s for s, _ in article.removed]:
            for i in range(span.start, span.end):
                owner[i] += 1
        for i, ch in enumerate(article.text):
            if not ch.isspace():
                assert owner[i] == 1, (path.name, i, article.text[max(0, i - 20):i + 20])
        assert {rule for _, rule in article.removed} <= {
            "title", "dateline", "tombstone", "copyright", "read-also", "comment-prompt", "comment-form",
            "subscribe", "photo-caption", "photo-credit"}


def test_titles_outlets_and_dates_of_the_seeds():
    assert seed("000").outlet == "Xinhua"
    assert seed("000").title.startswith("United States Secretary of State Antony Blinken discussed in Tel Aviv")
    assert seed("001").title == "Blinken Urges Israel To Create Safe Zones In Gaza When Fighting Resumes"
    assert (seed("001").outlet, seed("001").date) == ("AFP", "2024")
    assert seed("002").title.startswith("Secretary of State Antony Blinken arrived in Israel on Friday")
    assert seed("002").outlet is None
    assert seed("003").title == ("Blinken insists to Netanyahu of their assembly on the necessity to "
                                 "“ensure lasting peace” for Israel and the area")
    assert seed("003").outlet == "EUROtoday"
    assert seed("004").title.startswith("US Secretary of State Antony Blinken called on Israel")
    assert seed("004").outlet is None  # it quotes CNN, but is not CNN's article


def test_dateline_and_tombstone_are_trimmed_not_the_sentence():
    article = seed("000")
    first, last = article.body[0], article.body[-1]
    assert article.text[first.start:].startswith("United States Secretary of State")
    assert article.text[:last.end].endswith("before he departs for Cairo.")


def test_rules_keep_ordinary_sentences():
    assert drop_rule("Blinken said the truce was producing results.") is None
    assert drop_rule("Comments on the truce were heard in Ramallah.") is None
    assert drop_rule("© Copyright AFP 2024. All rights reserved.") == "copyright"
    assert is_caption_pair("A caption", "A caption.REUTERS / JOHN DOE")
    assert not is_caption_pair("The head of US diplomacy", "The head of US diplomacy met Netanyahu on Tuesday.")


def test_clean_of_text_without_body_gives_no_body():
    assert clean("READ ALSO\nLeave a comment\n").body == ()

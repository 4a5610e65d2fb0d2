"""The fitted selector: loading, ranking, confidence and answer lines."""
import json

import pytest

from qa.errors import ConfigError
from qa.selector import ANSWER_FEATURES, SELECTOR_FILE, Ranked, answer_signals, choose_lines, confidence, load_selector, rank
from qa.signals import FEATURES


def _ranked(key, source, text, p, lead=True, **signals):
    """A candidate whose signals are all 0.5 but those named."""
    return Ranked(key, source, text, tuple(signals.get(f, 0.5) for f in FEATURES), p, lead)


def test_the_shipped_selector_matches_the_signals_and_was_fitted_on_the_tune_split():
    selector = load_selector()
    assert selector["ranker"]["features"] == list(FEATURES)
    assert selector["answerer"]["features"] == list(ANSWER_FEATURES)
    assert selector["fitted"]["on"].startswith("tune split")
    assert 0 < selector["threshold"] < 1 and 0 < selector["line_ratio"] <= 1


def test_a_selector_for_other_signals_is_refused_with_what_to_do(tmp_path):
    stale = json.loads(SELECTOR_FILE.read_text())
    stale["ranker"]["features"] = stale["ranker"]["features"][:-1]
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(stale))
    with pytest.raises(ConfigError, match="evals.fit"):
        load_selector(str(path))
    with pytest.raises(ConfigError, match="cannot read"):
        load_selector(str(tmp_path / "missing.json"))


def test_rank_orders_by_probability_and_keeps_what_it_was_given():
    ranker = {"mean": [0.0] * len(FEATURES), "scale": [1.0] * len(FEATURES), "intercept": 0.0,
              "coef": [1.0] + [0.0] * (len(FEATURES) - 1)}
    low = Ranked(0, "a", "x", tuple([0.1] + [0.0] * (len(FEATURES) - 1)), lead=False)
    high = Ranked(1, "b", "y", tuple([0.9] + [0.0] * (len(FEATURES) - 1)))
    ranked = rank([low, high], ranker)
    assert [c.key for c in ranked] == [1, 0] and ranked[0].p > ranked[1].p and not ranked[1].lead
    assert rank([], ranker) == []


def test_confidence_is_zero_without_a_lead_sentence():
    assert confidence([_ranked(0, "a", "x", 0.9, lead=False)], load_selector()) == 0.0
    assert answer_signals([], 0.5) is None


def test_a_figure_duration_or_day_asked_for_and_not_in_the_best_sentence_gives_no_confidence():
    selector = load_selector()
    figure = [_ranked(0, "a", "The toll passed 23,000.", 0.9, type_missing=0.0)]
    none = [_ranked(0, "a", "Many died.", 0.9, type_missing=1.0)]
    assert confidence(figure, selector, "number") > selector["threshold"]
    assert confidence(none, selector, "number") == confidence(none, selector, "time") == 0.0
    assert confidence(none, selector, "person") == confidence(none, selector) > 0.0  # a role may answer "who"


def test_two_articles_stating_one_figure_share_a_line_and_disagreeing_ones_get_their_own():
    ranked = [_ranked(0, "000", "The death toll in Gaza has surpassed 23,000.", 0.9),  # best first, as rank() gives
              _ranked(2, "002", "Officials put the toll at 18,000.", 0.8),
              _ranked(3, "000", "Blinken arrived on Tuesday.", 0.75),
              _ranked(1, "003", "In Gaza it has precipitated the loss of life of greater than 23,000 folks.", 0.4)]
    lines = choose_lines(ranked, line_ratio=0.6, support_ratio=0.1, max_lines=3, kind="number")
    assert [[c.key for c in line] for line in lines] == [[0, 1], [2]]
    assert choose_lines(ranked, line_ratio=0.6, support_ratio=0.5, max_lines=1, kind="number") == [[ranked[0]]]


def test_support_only_sentences_never_start_a_line():
    ranked = [_ranked(0, "a", "Support only: 23,000 died in Gaza.", 0.95, lead=False), _ranked(1, "b", "The toll in Gaza is 23,000.", 0.5)]
    lines = choose_lines(ranked, 0.6, 0.1, 3, "number")
    assert lines[0][0].key == 1 and [c.key for c in lines[0]] == [1, 0]


def test_a_shared_figure_on_another_topic_is_not_support_however_low_the_floor():
    ranked = [_ranked(0, "lee", "The overall HIV infection rate in Malawi is 19 per cent.", 0.9),
              _ranked(1, "wiki", "Mortality rates for children fell to 19 percent in 2010.", 0.05),
              _ranked(2, "lee2", "In Malawi, the HIV infection rate stands at 19 per cent overall.", 0.02)]
    lines = choose_lines(ranked, line_ratio=0.6, support_ratio=0.0, max_lines=3, kind="number")
    assert [[c.key for c in line] for line in lines] == [[0, 2]]


def test_another_articles_version_ranked_far_below_gets_a_line_only_when_it_is_about_the_same_thing():
    """A version under the line ratio starts a line when it holds the asked-for answer next to what the
    question asks about and is as near the question in meaning as the best sentence; not otherwise."""
    best = _ranked(0, "000", "Blinken arrived in Israel on Tuesday.", 0.9, focused=1.0, dense_gap=0.0)
    version = _ranked(1, "003", "After landing on Monday night in Israel, Blinken met Herzog.", 0.15,
                      focused=1.0, dense_gap=-0.03)
    farther = _ranked(2, "001", "Blinken left on Friday for Jordan.", 0.15, focused=1.0, dense_gap=-0.2)
    untyped = _ranked(3, "002", "Blinken met the war cabinet in Israel.", 0.15, focused=0.0, dense_gap=0.0)
    ranked = [best, version, farther, untyped]
    keys = lambda lines: [[c.key for c in line] for line in lines]  # noqa: E731
    assert keys(choose_lines(ranked, 0.6, 0.5, 3, "time", version_ratio=0.1)) == [[0], [1]]
    assert keys(choose_lines(ranked, 0.6, 0.5, 3, "time")) == [[0]]  # no version ratio: as before
    assert keys(choose_lines(ranked, 0.6, 0.5, 3, "time", version_ratio=0.2)) == [[0]]  # under the version ratio
    assert keys(choose_lines(ranked, 0.6, 0.5, 3, None, version_ratio=0.1)) == [[0]]  # no asked-for kind

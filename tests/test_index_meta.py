"""Headline, outlet and publication date read from HTML and Markdown articles, stored in the catalog,
shown in the chat, and a date range for questions (``ask(since=, until=)``, ``qa ask --since/--until``).
A real index (Chroma, BM25, the packaged model) of a small corpus that carries dates; the seeds stay
as they are."""
import json
import subprocess
import sys

import pytest

from index import build
from index.read import read_article
from qa import ask
from qa.answer import article
from qa.errors import BadQuestionError
from ui.render import render_answer

from conftest import ROOT

HTML = """<!doctype html><html><head><title>Ignored page title</title>
<meta property="article:published_time" content="2023-10-12T07:45:00Z">
<meta property="og:site_name" content="The Harbour Gazette">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Zorblax port reopens to ferries",
 "datePublished": "2023-10-12T07:45:00Z", "publisher": {"@type": "Organization", "name": "The Harbour Gazette"}}</script>
</head><body><nav>Home | World</nav><h1>Zorblax port reopens to ferries</h1>
<p>The Zorblax harbour reopened to passenger ferries on Wednesday after a two-week closure.</p>
<p>Harbour master Ilse Varga said the first ferry carried 412 passengers.</p>
<p>She said repairs to the northern pier would finish in November.</p></body></html>
"""
MARKDOWN = """---
title: Zorblax council approves the new bridge
date: 2023-11-30
outlet: Northern Ledger
---
# Zorblax council approves the new bridge

The Zorblax city council approved the new bridge on Tuesday by a vote of nine to two.

Mayor Tomas Brandt said construction would start in the spring.
"""
UNDATED = "Zorblax farmers sold 90 tonnes of quince at the autumn market, a record for the valley.\nIt was sunny.\n"


@pytest.fixture(scope="module")
def dated_store(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("dated")
    (corpus / "harbour.html").write_text(HTML, encoding="utf-8")
    (corpus / "bridge.md").write_text(MARKDOWN, encoding="utf-8")
    (corpus / "quince.txt").write_text(UNDATED, encoding="utf-8")
    store = tmp_path_factory.mktemp("dated-store") / "qa"
    build(corpus, store, progress=False)
    return corpus, store


def test_html_and_markdown_articles_give_headline_outlet_and_date(dated_store):
    corpus, _ = dated_store
    html = read_article(corpus / "harbour.html")
    assert (html.title, html.outlet, html.date) == ("Zorblax port reopens to ferries", "The Harbour Gazette", "2023-10-12")
    md = read_article(corpus / "bridge.md")
    assert (md.title, md.outlet, md.date) == ("Zorblax council approves the new bridge", "Northern Ledger", "2023-11-30")
    body = "".join(md.text[s.start:s.end] for s in md.body)
    assert "outlet:" not in body and "---" not in body and body.startswith("The Zorblax city council")
    assert read_article(corpus / "quince.txt").date is None


def test_the_catalog_keeps_the_dates(dated_store):
    _, store = dated_store
    assert article("harbour.html", store=store).date == "2023-10-12"
    assert article("bridge.md", store=store).date == "2023-11-30"
    assert article("quince.txt", store=store).date is None


def test_a_date_range_restricts_the_answer_to_articles_published_in_it(dated_store):
    _, store = dated_store
    question = "What happened in Zorblax?"
    october = ask(question, store=store, since="2023-10-01", until="2023-10-31")
    november = ask(question, store=store, since="2023-11-01")
    assert {p.source for p in october.passages} == {"harbour.html"}
    assert {c.source for c in october.citations} <= {"harbour.html"}  # nothing cited from outside the range
    assert {c.date for c in october.citations} <= {"2023-10-12"}  # each citation carries its article's date
    assert {p.source for p in november.passages} == {"bridge.md"}
    assert {p.source for p in ask(question, store=store).passages} >= {"harbour.html", "bridge.md", "quince.txt"}
    nothing = ask(question, store=store, until="2020-01-01")
    assert nothing.abstained and not nothing.passages  # no article of that time: nothing to cite
    assert nothing.text.startswith("No article published on or before 2020-01-01 matches this question")
    assert "no stated publication date" in nothing.text  # quince.txt is undated: the reader is told why it is out
    with pytest.raises(BadQuestionError, match="YYYY-MM-DD"):
        ask(question, store=store, since="last week")
    with pytest.raises(BadQuestionError, match="is after"):
        ask(question, store=store, since="2023-12-01", until="2023-11-01")


def test_qa_ask_since_until_on_the_command_line(dated_store):
    _, store = dated_store
    run = subprocess.run([sys.executable, "-m", "qa", "ask", "--store", str(store), "--since", "2023-11-01",
                          "--json", "How did the council vote on the bridge?"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert {p["source"] for p in json.loads(run.stdout)["passages"]} == {"bridge.md"}
    run = subprocess.run([sys.executable, "-m", "qa", "ask", "--store", str(store), "--until", "2023-10-31",
                          "How many passengers did the first ferry carry?"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "The Harbour Gazette, 2023-10-12" in run.stdout
    run = subprocess.run([sys.executable, "-m", "qa", "ask", "--store", str(store), "--since", "soon", "x"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode != 0 and "since must be a date as YYYY-MM-DD" in run.stderr


def test_the_chat_shows_outlet_date_weekday_and_who_she_is(dated_store):
    _, store = dated_store
    answer = ask("When did the Zorblax harbour reopen to ferries?", store=store)
    shown = render_answer(answer, 0, lambda source: article(source, store=store))
    assert "The Harbour Gazette · 2023-10-12" in shown and "file: harbour.html" in shown
    assert "Wednesday<span class=\"qa-note\"> [= 2023-10-11]</span>" in shown  # which Wednesday that was
    undated = ask("How much quince did Zorblax farmers sell?", store=store)
    shown = render_answer(undated, 0, lambda source: article(source, store=store))
    assert "date not stated" in shown
    pier = ask("When will the repairs to the northern pier finish?", store=store)
    shown = render_answer(pier, 0, lambda source: article(source, store=store))
    assert "She<span class=\"qa-note\"> [she = Ilse Varga]</span>" in shown


def test_the_chat_asks_within_the_dates_the_reader_gives(dated_store):
    from qa.settings import Settings
    from ui.app import add_question, answer_pending, messages, new_conversation

    _, store = dated_store
    settings, conversation = Settings.from_env(store=store), new_conversation()
    with pytest.raises(BadQuestionError, match="YYYY-MM-DD"):
        add_question(conversation, "What happened in Zorblax?", settings, "October", None)
    assert conversation["turns"] == []
    add_question(conversation, "What happened in Zorblax?", settings, "2023-11-01", "")
    list(answer_pending(conversation, settings))
    assert {p.source for p in conversation["turns"][0]["answer"].passages} == {"bridge.md"}
    assert "Only articles published from 2023-11-01 to any date." in messages(conversation, settings)[1]["content"]

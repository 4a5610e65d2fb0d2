"""The web chat: handlers called directly, a real server through gradio_client, a real headless Chromium."""
import json
import shutil
import time

import pytest

from evals.bench_load import served
from qa.settings import Settings
from ui.app import create_app, highlight, render_sources, respond, save_feedback

from conftest import ARTIFACTS, SEEDS

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def served_store(tmp_path_factory):
    return tmp_path_factory.mktemp("served") / "qa"


@pytest.fixture(scope="module")
def server(served_store):
    """A real `qa serve` in its own process on a free loopback port (it builds the index itself)."""
    with served(SEEDS, served_store) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def test_api_answers_with_citations(client):
    answer = client.predict("Who is John Kirby?", None, api_name="/ask")
    assert answer["abstained"] is False
    c = answer["citations"][0]
    assert (SEEDS / c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


def test_api_follow_up_uses_history(client):
    history = [{"role": "user", "content": "Who is Matthew Miller?"},
               {"role": "assistant", "content": "State Department spokesman Matthew Miller said ... [1]"}]
    answer = client.predict("What did he say about the West Bank?", history, api_name="/ask")
    assert "Miller" in answer["query"] and "West Bank" in answer["citations"][0]["quote"]


def test_api_abstains(client):
    answer = client.predict("Who won the 2024 US presidential election?", None, api_name="/ask")
    assert answer["abstained"] is True and answer["citations"] == []


@pytest.mark.parametrize("question,history", [("", None), ("x" * 100_000, None), ("Who?", [{"role": "robot"}])])
def test_api_bad_input_is_refused_and_the_server_carries_on(client, question, history):
    with pytest.raises(Exception):
        client.predict(question, history, api_name="/ask")
    assert client.predict("Who is John Kirby?", None, api_name="/ask")["citations"]


def test_respond_turns_errors_into_a_chat_message(seed_store):
    (history, sources, answers, box), = list(respond("   ", [], [], Settings.from_env(store=seed_store)))
    assert history[-1]["content"].startswith("⚠ the question is empty") and answers == []


def test_respond_streams_and_shows_highlighted_sources(seed_store):
    settings = Settings.from_env(store=seed_store)
    steps = list(respond("Who is John Kirby?", [], [], settings))
    assert len(steps) > 2  # the answer arrives in several steps
    history, sources, answers, box = steps[-1]
    assert history[-1]["content"].endswith("[1]") and "<mark>" in sources and answers[0]["citations"]
    assert "Open the whole article" in sources
    save_feedback(settings, True, answers[0]["index"], answers)
    assert '"liked": true' in (seed_store / "feedback.jsonl").read_text()


def test_untrusted_text_is_escaped():
    assert highlight("<script>x()</script>", 0, [(0, 8)]) == "<mark>&lt;script&gt;</mark>x()&lt;/script&gt;"


def test_create_app_builds_without_launching(seed_store):
    assert create_app(Settings.from_env(store=seed_store)) is not None


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("Debian's chromium is not installed: run `make browser` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield b
        b.close()


def ask_in_page(page, question):
    box = page.locator("#qa-input textarea")
    box.fill(question)
    box.press("Enter")


def test_chat_in_a_real_browser(server, served_store, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.wait_for_selector("#qa-input textarea", timeout=60_000)
    assert "articles" in page.locator("#qa-corpus").inner_text()
    ask_in_page(page, "Who is John Kirby?")
    page.wait_for_selector("#qa-sources mark", timeout=60_000)
    assert "John Kirby" in page.locator("#qa-sources mark").first.inner_text()
    assert "[1]" in page.locator("#qa-chat").inner_text()
    feedback = served_store / "feedback.jsonl"
    for thumb, votes in [("Like", 1), ("Liked", 2), ("Dislike", 3)]:  # like, take it back, dislike
        page.locator(f"#qa-chat button[aria-label='{thumb}']").first.click()
        for _ in range(100):
            if feedback.exists() and len(feedback.read_text().splitlines()) == votes:
                break
            time.sleep(0.1)
    records = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert [r["liked"] for r in records] == [True, None, False]
    assert {r["question"] for r in records} == {"Who is John Kirby?"}
    assert records[0]["citations"][0]["source"].startswith("002") and "Kirby" in records[0]["answer"]
    ask_in_page(page, "What did he say about a humanitarian pause?")
    page.wait_for_function("document.querySelectorAll('#qa-chat .message-row, #qa-chat [data-testid=\"bot\"]').length >= 2", timeout=60_000)
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
    assert "pause" in page.locator("#qa-chat").inner_text().lower()
    page.locator("#qa-clear").click()
    page.get_by_text("How many people have been displaced in Gaza?").first.click()
    page.wait_for_function("document.querySelector('#qa-input textarea').value.includes('displaced')", timeout=10_000)
    page.close()


def test_script_in_an_article_is_shown_as_text(browser, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(
        "Blinken met the Zorblax delegation in Amman on Sunday. "
        "<script>window.__pwned = true</script><img src=x onerror=\"window.__pwned = true\">\n",
        encoding="utf-8")
    with served(corpus, tmp_path / "s") as (url, _):
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#qa-input textarea", timeout=60_000)
        ask_in_page(page, "Who did Blinken meet in Amman? Zorblax")
        page.wait_for_function("document.querySelector('#qa-sources').innerText.includes('evil.txt')", timeout=60_000)
        page.wait_for_timeout(1000)
        assert "<script>" in page.locator("#qa-sources").inner_text()
        assert page.evaluate("window.__pwned === undefined")
        page.close()


def test_two_chat_servers_on_one_chroma_server_answer_alike(seed_server_index, tmp_path):
    """Two `qa serve` with nothing in common but the Chroma server (as on two machines)."""
    from gradio_client import Client

    env = {"QA_CHROMA_URL": seed_server_index["chroma_url"], "QA_NAMESPACE": seed_server_index["namespace"]}
    answers = []
    for machine in ("a", "b"):
        with served(SEEDS, tmp_path / machine, extra_env=env) as (url, _):
            answers.append(Client(url, verbose=False).predict("Who is John Kirby?", None, api_name="/ask"))
    assert answers[0] == answers[1] and not answers[0]["abstained"]
    assert answers[0]["citations"][0]["source"].startswith("002")

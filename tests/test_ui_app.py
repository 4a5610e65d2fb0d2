"""The web chat: handlers called directly, a real server through gradio_client, a real headless Chromium.

The browser tests do what a reader does. Where a test needs "while an answer is computing", it holds
the page's request that starts the answer (Gradio's queue join) and lets it go later: the server and
the answer are real, only their start is delayed, as on a slow machine.
"""
import json
import os
import re
import shutil
import time

import pytest

from evals.bench_load import served
from qa.errors import BadQuestionError
from qa.settings import Settings
from ui.app import add_question, answer_pending, create_app, messages, new_conversation, reset, respond, save_feedback
from ui.render import highlight

from conftest import ARTIFACTS, ROOT, SEEDS

CHROMIUM = shutil.which("chromium")
DOCS = ROOT / "docs"
QUEUE_JOIN = re.compile(r".*/gradio_api/queue/join.*")


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
    french = client.predict("Combien de personnes ont été déplacées à Gaza ?", None, api_name="/ask")
    assert french["abstained"] and "in French" in french["text"] and "English articles" in french["text"]


def test_api_keeps_to_a_date_range(client):
    # the seeds are of 2023 and 2024 (one states its year): nothing was published before 2020
    dated = client.predict("Who is John Kirby?", None, None, "2020-01-01", api_name="/ask")
    assert dated["abstained"] and dated["passages"] == []
    recent = client.predict("Who is John Kirby?", None, "2024-01-01", None, api_name="/ask")
    assert {p["source"] for p in recent["passages"]} <= {"001_1d9d1f8b594cee10.txt"}  # the one dated 2024
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="YYYY-MM-DD"):
        client.predict("Who is John Kirby?", None, "last week", None, api_name="/ask")


@pytest.mark.parametrize("question,history,message", [
    ("", None, "empty"), ("x" * 100_000, None, "the limit is 1000"),
    ("Who?", [{"role": "robot"}], "role")])
def test_api_bad_input_is_refused_with_the_projects_message_and_the_server_carries_on(client, question, history, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(question, history, api_name="/ask")
    assert client.predict("Who is John Kirby?", None, api_name="/ask")["citations"]


# --- handlers, called directly -------------------------------------------------------------------

def test_a_bad_question_is_refused_and_leaves_the_conversation_as_it_was(seed_store):
    settings, conversation = Settings.from_env(store=seed_store), new_conversation()
    for question in ("   ", "x" * (settings.max_question_chars + 1)):
        with pytest.raises(BadQuestionError):
            list(respond(question, conversation, settings))
    assert conversation["turns"] == []


def test_each_answer_keeps_its_own_sources(seed_store):
    settings, conversation = Settings.from_env(store=seed_store), new_conversation()
    list(respond("Who is John Kirby?", conversation, settings))
    shown = list(respond("How many people have been displaced in Gaza?", conversation, settings))
    chat = shown[-1]
    first, second = chat[1]["content"], chat[3]["content"]
    assert shown[0][-1]["content"].count("Searching the articles") == 1  # the question shows before its answer
    # each answer's [1] links to a source listed inside that same answer
    assert "href='#qa-t0-c1'" in first and "id='qa-t0-c1'" in first and "qa-t1-c1" not in first
    assert "href='#qa-t1-c1'" in second and "id='qa-t1-c1'" in second
    kirby = conversation["turns"][0]["answer"].citations[0]
    assert f"file: {kirby.source}" in first and "<mark>" in first and "Open the whole article" in first
    assert "date not stated" in first  # the seeds give no publication date
    assert "Untitled: " in first or "Untitled: " in second  # derived titles are not passed off as headlines


def test_two_questions_queued_together_are_both_answered_in_order(seed_store):
    settings, conversation = Settings.from_env(store=seed_store), new_conversation()
    add_question(conversation, "Who is John Kirby?", settings)
    add_question(conversation, "Who is Matthew Miller?", settings)
    assert list(answer_pending(conversation, settings)) and [t["state"] for t in conversation["turns"]] == ["answered"] * 2
    assert "Kirby" in conversation["turns"][0]["answer"].text and "Miller" in conversation["turns"][1]["answer"].text


def test_new_chat_during_an_answer_drops_the_late_answer(seed_store):
    settings, conversation = Settings.from_env(store=seed_store), new_conversation()
    add_question(conversation, "Who is John Kirby?", settings)
    working = answer_pending(conversation, settings)
    reset(conversation)  # the reader clicks "New chat" before the answer is back
    assert "Kirby" not in json.dumps(list(working)) and messages(conversation, settings) == []


def test_a_language_model_that_is_down_gives_the_extractive_answer_with_its_note(seed_store):
    from evals.bench_load import free_port

    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    settings, conversation = Settings.from_env(store=seed_store, llm_url=down, llm_timeout=30.0), new_conversation()
    shown = list(respond("Who is John Kirby?", conversation, settings))[-1][-1]["content"]
    answer = conversation["turns"][0]["answer"]
    assert answer.mode == "extractive" and answer.citations and down in answer.note
    assert "qa-mode" in shown and "this is the extractive answer" in shown and "Kirby" in shown


def test_feedback_is_only_recorded_for_answers_and_after_a_reset_for_the_new_question(seed_store, tmp_path):
    settings = Settings.from_env(store=seed_store)
    conversation = new_conversation()
    list(respond("Who is John Kirby?", conversation, settings))
    reset(conversation)
    list(respond("Who is Matthew Miller?", conversation, settings))
    conversation["turns"].append({"question": "q", "state": "error", "answer": None, "error": "boom"})
    feedback = seed_store / "feedback.jsonl"
    before = feedback.read_text().splitlines() if feedback.exists() else []
    assert save_feedback(settings, True, 3, conversation) is False  # the error message
    assert save_feedback(settings, True, 0, conversation) is False  # a question
    assert save_feedback(settings, True, 1, conversation) is True
    records = [json.loads(line) for line in feedback.read_text().splitlines()[len(before):]]
    assert [(r["question"], r["liked"]) for r in records] == [("Who is Matthew Miller?", True)]


def test_untrusted_text_is_escaped():
    assert highlight("<script>x()</script>", 0, [(0, 8)]) == "<mark>&lt;script&gt;</mark>x()&lt;/script&gt;"


def test_create_app_builds_without_launching(seed_store):
    assert create_app(Settings.from_env(store=seed_store)) is not None


# --- a real Chromium --------------------------------------------------------------------------------

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


def open_chat(browser, url, **context):
    page = browser.new_page(**{"viewport": {"width": 1400, "height": 1000}, **context})
    page.goto(url)
    page.wait_for_selector("#qa-send", timeout=60_000)
    return page


def ask_in_page(page, question):
    box = page.locator("#qa-input textarea")
    box.fill(question)
    box.press("Enter")


def answers_shown(page, n, timeout=60_000):
    page.wait_for_function(f"document.querySelectorAll('#qa-chat .qa-answer').length >= {n}", timeout=timeout)


class HeldAnswers:
    """Holds each request that starts an answer until ``release()``: "while an answer is computing"."""

    def __init__(self, page):
        self.page, self.held, self.holding = page, [], True
        page.route(QUEUE_JOIN, lambda route: self.held.append(route) if self.holding else route.continue_())

    def wait_held(self, n=1):
        for _ in range(200):
            if len(self.held) >= n:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{n} answer requests were expected, {len(self.held)} were made")

    def release(self):
        self.holding = False
        while self.held:
            self.held.pop(0).continue_()


def kirby_held(browser, url):
    """A chat page where "Who is John Kirby?" was sent and its answer is held (``HeldAnswers``)."""
    page = open_chat(browser, url)
    held = HeldAnswers(page)
    ask_in_page(page, "Who is John Kirby?")
    held.wait_held()
    return page, held


def wait_lines(path, n):
    for _ in range(100):
        if path.exists() and len(path.read_text().splitlines()) >= n:
            return
        time.sleep(0.1)


def test_chat_in_a_real_browser(server, served_store, browser):
    page = open_chat(browser, server)
    assert "articles" in page.locator("#qa-corpus").inner_text()
    ask_in_page(page, "Who is John Kirby?")
    answers_shown(page, 1)
    assert "John Kirby" in page.locator("#qa-chat mark").first.inner_text()
    assert "[1]" in page.locator("#qa-chat .qa-text").first.inner_text()
    feedback = served_store / "feedback.jsonl"
    for thumb, votes in [("Like", 1), ("Liked", 2), ("Dislike", 3)]:  # like, take it back, dislike
        page.locator(f"#qa-chat button[aria-label='{thumb}']").first.click()
        wait_lines(feedback, votes)
    records = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert [r["liked"] for r in records] == [True, None, False]
    assert {r["question"] for r in records} == {"Who is John Kirby?"}
    assert records[0]["citations"][0]["source"].startswith("002") and "Kirby" in records[0]["answer"]
    page.close()


def test_the_question_shows_at_once_and_text_typed_during_an_answer_is_kept(server, browser):
    page, held = kirby_held(browser, server)
    chat = page.locator("#qa-chat")
    assert "Who is John Kirby?" in chat.inner_text() and page.locator("#qa-chat .qa-thinking").count() == 1
    assert page.locator("#qa-input textarea").input_value() == ""  # the sent question left the box
    page.locator("#qa-input textarea").type("What did he say about")  # typed while the answer computes
    held.release()
    answers_shown(page, 1)
    page.wait_for_timeout(500)
    assert page.locator("#qa-input textarea").input_value() == "What did he say about"
    assert page.locator("#qa-chat .qa-thinking").count() == 0
    page.close()


def test_two_questions_sent_quickly_are_both_answered_and_each_n_shows_its_own_source(server, browser):
    page, held = kirby_held(browser, server)
    ask_in_page(page, "How many people have been displaced in Gaza?")  # before the first answer is back
    held.wait_held(2)
    held.release()
    answers_shown(page, 2)
    page.wait_for_timeout(2000)  # both answering calls have ended: the chat must still hold both answers
    assert page.locator("#qa-chat .qa-answer").count() == 2
    text = page.locator("#qa-chat").inner_text()
    assert text.index("Who is John Kirby?") < text.index("displaced in Gaza?")
    first_source = page.locator("#qa-chat .qa-answer").nth(0).locator(".qa-file").first.inner_text()
    second_source = page.locator("#qa-chat .qa-answer").nth(1).locator(".qa-file").first.inner_text()
    assert first_source != second_source  # the two answers cite different articles first
    page.locator("#qa-chat .qa-answer").nth(0).locator("a.qa-ref").first.click()
    shown = page.locator("#qa-chat .qa-source.qa-shown")
    assert shown.count() == 1 and shown.get_attribute("id") == "qa-t0-c1"
    assert shown.locator(".qa-file").inner_text() == first_source and shown.is_visible()
    page.close()


def test_new_chat_during_an_answer_empties_the_chat_for_good(server, browser):
    page, held = kirby_held(browser, server)
    page.locator("#qa-clear").click()
    page.wait_for_timeout(300)
    held.release()
    page.wait_for_timeout(2000)  # the held answer has had time to arrive
    assert "Kirby" not in page.locator("#qa-chat").inner_text()
    ask_in_page(page, "Who is Matthew Miller?")
    answers_shown(page, 1)
    assert "Kirby" not in page.locator("#qa-chat .qa-message, #qa-chat .message-row").first.inner_text()
    assert page.locator("#qa-chat .qa-answer").count() == 1
    page.close()


def test_trash_then_thumbs_up_records_the_new_question(server, served_store, browser):
    page = open_chat(browser, server)
    ask_in_page(page, "Who is John Kirby?")
    answers_shown(page, 1)
    page.locator("#qa-chat button[aria-label='Clear']").click()
    page.wait_for_function("!document.querySelector('#qa-chat .qa-answer')", timeout=10_000)
    ask_in_page(page, "Who is Matthew Miller?")
    answers_shown(page, 1)
    feedback = served_store / "feedback.jsonl"
    before = len(feedback.read_text().splitlines()) if feedback.exists() else 0
    page.locator("#qa-chat button[aria-label='Like']").first.click()
    wait_lines(feedback, before + 1)
    record = json.loads(feedback.read_text().splitlines()[before])
    assert record["question"] == "Who is Matthew Miller?" and record["liked"] is True
    page.close()


def test_empty_question_keeps_the_text_says_why_and_send_is_disabled(server, browser):
    page = open_chat(browser, server)
    box, send = page.locator("#qa-input textarea"), page.locator("#qa-send")
    page.wait_for_function("document.querySelector('#qa-send').disabled", timeout=2_000)  # as the page settles
    assert box.get_attribute("maxlength") == "1000"
    assert "of 1,000 characters" in page.locator("#qa-hint").inner_text()
    box.fill("   ")
    page.wait_for_function("document.querySelector('#qa-count').innerText === '3'", timeout=10_000)
    assert send.is_disabled()
    box.press("Enter")
    page.wait_for_selector("#qa-notice-box .qa-notice", timeout=10_000)
    assert "the question is empty" in page.locator("#qa-notice-box").inner_text()
    assert box.input_value() == "   " and page.locator("#qa-chat .message-row").count() == 0
    box.fill("Who is John Kirby?")
    page.wait_for_function("document.querySelector('#qa-count').innerText === '18'", timeout=10_000)
    assert send.is_enabled()
    send.click()
    answers_shown(page, 1)
    page.wait_for_function("document.querySelector('#qa-notice-box').innerText.trim() === ''", timeout=10_000)
    page.close()


def test_enter_on_an_example_fills_the_box_and_a_second_enter_sends(server, browser):
    page = open_chat(browser, server)
    example = page.locator("#qa-examples button", has_text="Who is Matthew Miller?")
    example.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#qa-input textarea').value === 'Who is Matthew Miller?'",
                           timeout=10_000)
    page.wait_for_function("document.activeElement === document.querySelector('#qa-input textarea')", timeout=10_000)
    page.keyboard.press("Enter")
    answers_shown(page, 1)
    assert "State Department spokesman" in page.locator("#qa-chat .qa-short").first.inner_text()  # short answer, bold
    assert page.locator("#qa-chat .qa-short strong").count() == 1
    page.close()


def test_sources_open_at_the_highlight_refusals_can_open_articles_and_copy_takes_the_sources(server, browser):
    page = open_chat(browser, server)
    ask_in_page(page, "Who is Matthew Miller?")
    answers_shown(page, 1)
    whole = page.locator("#qa-chat details.qa-whole").first
    whole.locator("summary").click()
    page.wait_for_timeout(300)
    inside = page.evaluate("""() => { const d = document.querySelector('#qa-chat details.qa-whole[open] .qa-article');
        const b = d.getBoundingClientRect(), m = d.querySelector('mark').getBoundingClientRect();
        return [m.top >= b.top - 1 && m.top < b.bottom, d.scrollTop, d.innerText.startsWith('\\n')]; }""")
    assert inside[0] and inside[2] is False  # the highlight is in view; no leading blank lines
    page.locator("#qa-chat button.qa-copy").first.click()
    copied = page.evaluate("window.__qaCopied")
    assert "State Department spokesman" in copied and "[1]" in copied and "file: 001_" in copied
    ask_in_page(page, "Who won the 2024 US presidential election?")
    page.wait_for_selector("#qa-chat .qa-refusal", timeout=60_000)
    refusal = page.locator("#qa-chat .qa-refusal")
    assert refusal.locator(".qa-closest").count() >= 1 and refusal.locator("details.qa-whole").count() >= 1
    refusal.locator("details.qa-whole summary").first.click()
    assert refusal.locator("details.qa-whole[open] mark").count() >= 1  # the passage, highlighted in its article
    page.close()


CONTRAST = """(selector) => {
  const rgb = s => { const m = s.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
                     return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.a > 0) { layers.push(c); if (c.a >= 1) break; } }
    let out = {r: 255, g: 255, b: 255};
    if (layers.length && layers[layers.length - 1].a >= 1) out = layers.pop();
    else if (document.documentElement.classList.contains('dark') || document.body.classList.contains('dark')) out = {r: 0, g: 0, b: 0};
    for (const c of layers.reverse()) out = {r: c.r * c.a + out.r * (1 - c.a), g: c.g * c.a + out.g * (1 - c.a), b: c.b * c.a + out.b * (1 - c.a)};
    return out; };
  return [...document.querySelectorAll(selector)].filter(el => el.offsetParent && el.innerText.trim()).map(el => {
    const fg = rgb(getComputedStyle(el).color), bg = background(el);
    const l1 = lum(fg), l2 = lum(bg);
    return [el.className || el.tagName, (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)]; });
}"""
CHECKED = ("#qa-chat mark, #qa-chat .qa-note, #qa-chat .qa-text, #qa-chat .qa-src-head, #qa-chat .qa-passage, "
           "#qa-chat .qa-file, #qa-chat a.qa-ref, #qa-chat .qa-closest, #qa-chat summary, .qa-hint, #qa-chat .qa-short, "
           "#qa-chat .qa-unsure, #qa-chat .qa-read-as")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_meets_wcag_aa_in_both_themes_and_screenshots(server, browser, scheme, tmp_path):
    # the screenshots in docs/ are rewritten only on request (QA_SCREENSHOTS=1), so a test run leaves the
    # checkout as it was
    shots = DOCS if os.environ.get("QA_SCREENSHOTS") == "1" else tmp_path
    for name, viewport in (("desktop", {"width": 1400, "height": 1000}), ("phone", {"width": 390, "height": 844})):
        page = open_chat(browser, server, viewport=viewport, color_scheme=scheme, is_mobile=name == "phone",
                         has_touch=name == "phone")
        assert page.evaluate("document.body.classList.contains('dark') || document.documentElement.classList.contains('dark')") == (scheme == "dark")
        ask_in_page(page, "Who is Matthew Miller?")
        answers_shown(page, 1)
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / f"chat-{name}-{scheme}.png"))
        if name == "desktop" and scheme == "light":
            page.screenshot(path=str(shots / "chat.png"))
        ask_in_page(page, "Did Israel agree to a ceasefire?")  # only the closest sentence: marked unsure
        page.wait_for_selector("#qa-chat .qa-unsure", timeout=60_000)
        assert page.locator("#qa-chat .qa-unsure-answer .qa-short").count() == 0  # no figure in bold when unsure
        page.locator("#qa-chat .qa-unsure-answer button.qa-copy").click()  # a copied unsure answer stays unsure
        page.wait_for_function("window.__qaCopied && window.__qaCopied.startsWith('Not sure: ')", timeout=10_000)
        ask_in_page(page, "Who is John Kriby?")  # a misspelt name: read as the articles' "Kirby", and said so
        page.wait_for_selector("#qa-chat .qa-read-as", timeout=60_000)
        assert "Kirby" in page.locator("#qa-chat .qa-read-as").last.inner_text()
        ask_in_page(page, "Who won the 2024 US presidential election?")
        page.wait_for_selector("#qa-chat .qa-refusal", timeout=60_000)
        page.locator("#qa-chat .qa-answer").first.locator("a.qa-ref").first.click()
        page.wait_for_timeout(500)
        ratios = page.evaluate(CONTRAST, CHECKED)
        kinds = " ".join(k for k, _ in ratios)
        assert all(kind in kinds for kind in ("qa-text", "qa-src-head", "qa-file", "qa-ref", "MARK", "qa-closest",
                                              "qa-unsure", "qa-read-as")), kinds
        low = [(k, round(r, 2)) for k, r in ratios if r < 4.5]
        assert not low, f"below 4.5:1 in {scheme}: {low}"
        page.close()


def test_names_focus_ring_targets_and_page_metadata(server, browser):
    page = open_chat(browser, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ask_in_page(page, "Who is John Kirby?")
    answers_shown(page, 1)
    tree = page.locator("body").aria_snapshot()
    assert 'textbox "Your question"' in tree and 'button "Send"' in tree and 'button "New chat"' in tree
    assert 'button "Like"' in tree and 'link "[1]"' in tree
    assert not re.search(r'button ""|- button\s*$|- button:', tree, re.MULTILINE)  # every button has a name
    assert page.locator("#qa-chat button[aria-label*='hare' i], #qa-chat button[title*='hare' i]").count() == 0
    for button in page.locator("#qa-chat button:visible, #qa-send, #qa-clear, #qa-examples button").all():
        box = button.bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, (button.get_attribute("aria-label"), box)
    page.locator("#qa-input textarea").focus()
    ring = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('#qa-input textarea')); "
                         "return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()")
    assert ring[0] != "none" and ring[1] >= 2
    assert page.title() == "News Q&A: ask the news articles"
    assert "sources, outlets and dates" in page.locator("meta[name=description]").first.get_attribute("content")
    assert "sources, outlets and dates" in page.locator("meta[property='og:description']").first.get_attribute("content")
    assert page.locator("meta[property='og:title']").first.get_attribute("content") == "News Q&A: ask the news articles"
    assert "Click to try out" not in page.content() and "og:image" not in page.content()
    assert b"<svg" in page.request.get(server + "favicon.ico").body()  # the tab's icon is the app's, not Gradio's
    page.close()


def test_on_a_phone_the_first_source_is_within_one_screen_of_its_answer(server, browser):
    page = open_chat(browser, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    ask_in_page(page, "Who is John Kirby?")
    answers_shown(page, 1)
    answer = page.locator("#qa-chat .qa-answer").first.bounding_box()
    source = page.locator("#qa-chat .qa-source").first.bounding_box()
    assert 0 <= source["y"] - answer["y"] < 844
    thumbs = page.locator("#qa-chat button[aria-label='Like']").first.bounding_box()
    assert thumbs["width"] >= 24 and thumbs["height"] >= 24
    page.close()


def test_like_on_an_error_offers_no_thumbs_and_saves_nothing(browser, tmp_path):
    """An empty index: every question gets an error message, which is not an answer to rate."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with served(empty, tmp_path / "s") as (url, _):
        page = open_chat(browser, url)
        ask_in_page(page, "Who is John Kirby?")
        page.wait_for_selector("#qa-chat .qa-error", timeout=60_000)
        assert "is empty" in page.locator("#qa-chat .qa-error").inner_text()
        assert page.locator("#qa-chat button[aria-label='Like']:visible").count() == 0
        assert not (tmp_path / "s" / "feedback.jsonl").exists()
        page.close()


def test_script_in_an_article_is_shown_as_text(browser, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "evil.txt").write_text(
        "Blinken met the Zorblax delegation in Amman on Sunday. "
        "<script>window.__pwned = true</script><img src=x onerror=\"window.__pwned = true\">\n",
        encoding="utf-8")
    with served(corpus, tmp_path / "s") as (url, _):
        page = open_chat(browser, url)
        ask_in_page(page, "Who did Blinken meet in Amman? Zorblax <img src=y onerror=\"window.__pwned = true\">")
        page.wait_for_function("document.querySelector('#qa-chat').innerText.includes('evil.txt')", timeout=60_000)
        page.wait_for_timeout(1000)
        assert "<script>" in page.locator("#qa-chat .qa-passage").first.inner_text()
        assert "<img src=y" in page.locator("#qa-chat").inner_text()  # the reader's own markup too
        assert page.evaluate("window.__pwned === undefined")
        page.close()


DRAFTS = """() => { window.__drafts = [];
  new MutationObserver(() => { for (const d of document.querySelectorAll('#qa-chat .qa-draft .qa-text')) {
      if (window.__drafts[window.__drafts.length - 1] !== d.textContent) window.__drafts.push(d.textContent); } })
    .observe(document.body, {subtree: true, childList: true, characterData: true}); }"""


def test_a_language_models_reply_streams_as_a_draft_then_the_checked_answer_replaces_it(seed_store, llm_server, browser):
    """The chat with a language model configured (served in this process, so that a grammar can force the
    model's words): the reply shows as an unchecked draft while it streams, the checked answer replaces
    it, the unsupported sentence is listed apart, and markup in the reply stays text."""
    import gradio as gr

    from evals.bench_load import free_port
    from ui.app import serve

    from conftest import forced

    supported = ("White House national security spokesman John Kirby said <script>window.__pwned = true</script> "
                 "the United States is not pushing for a total cease-fire [1].")
    reply = f"{supported} John Kirby said 4,500 soldiers arrived with President Zelensky [1]."
    settings = Settings.from_env(corpus=SEEDS, store=seed_store, port=free_port(), **forced(llm_server, reply))
    _, url, _ = serve(settings, block=False)
    try:
        page = open_chat(browser, url)
        page.evaluate(DRAFTS)
        ask_in_page(page, "Who is John Kirby?")
        page.wait_for_selector("#qa-chat .qa-answer:not(.qa-draft) .qa-mode", timeout=300_000)
        drafts = page.evaluate("window.__drafts")
        assert drafts and all(reply.startswith(d) for d in drafts), drafts
        assert len(drafts[0]) < len(reply)  # seen while it was being written
        assert page.locator("#qa-chat .qa-draft").count() == 0
        answer = page.locator("#qa-chat .qa-answer").last
        assert "Written by the language model" in answer.locator(".qa-mode").inner_text()
        text = answer.locator(".qa-text").inner_text()
        assert "<script>window.__pwned = true</script>" in text and "4,500" not in text
        assert "4,500" in answer.locator(".qa-unsupported").text_content()  # collapsed: in the page, not on screen
        assert answer.locator(".qa-source").count() >= 1 and page.evaluate("window.__pwned === undefined")
        page.close()
    finally:
        gr.close_all()


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

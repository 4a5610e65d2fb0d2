"""Generated answers against a real OpenAI-compatible server: llama.cpp's (xllamacpp) with SmolLM2-135M.

SmolLM2-135M rarely writes a sentence that survives the check (docs/evals.md), so where a test needs a
given reply the server is made to write it with a llama.cpp grammar sent with the request: the server,
HTTP, streaming, parsing, checking and offsets are all real; only the words are chosen.
"""
import json
import subprocess
import sys
import time

from qa import ask
from qa.answer import ABSTAIN_TEXT, article
from qa.compose import ask_stream
from qa.settings import Settings
from qa.types import Answer

from conftest import forced

QUESTION = "Who is John Kirby?"
SUPPORTED = "White House national security spokesman John Kirby said the United States is not pushing for a total cease-fire [1]."


def test_generated_answer_cites_sentences_with_exact_offsets(seed_store, llm_server):
    answer = ask(QUESTION, store=seed_store, **forced(llm_server, SUPPORTED))
    assert answer.mode == "generated" and not answer.abstained and answer.note == "", answer.note
    assert answer.text.endswith("[1]") and "cease-fire" in answer.text
    assert [c.supported for c in answer.claims] == [True] and answer.claims[0].cited == (1,)
    for c in answer.citations:
        assert article(c.source, store=seed_store).text[c.start:c.end] == c.quote


def test_fabricated_figure_and_name_are_shown_as_unsupported(seed_store, llm_server):
    fabricated = "John Kirby said 4,500 soldiers arrived with President Zelensky [1]."
    answer = ask(QUESTION, store=seed_store, **forced(llm_server, f"{SUPPORTED} {fabricated}"))
    assert answer.mode == "generated", answer.note
    good, bad = answer.claims
    assert good.supported and not bad.supported
    assert set(bad.missing) >= {"4500", "zelensky"} and "4,500" in bad.text
    assert "4,500" not in answer.text and "Zelensky" not in answer.text  # never as plain answer text


def test_nothing_supported_gives_the_extractive_answer_with_the_checks(seed_store, llm_server):
    extractive = ask(QUESTION, store=seed_store)
    answer = ask(QUESTION, store=seed_store, **forced(llm_server, "John Kirby is the Secretary of State Antony Blinken."))
    assert answer.mode == "extractive" and answer.text == extractive.text and answer.citations == extractive.citations
    assert "not used" in answer.note and not answer.claims[0].supported


def test_the_models_refusal_counts_below_the_extractive_confidence(seed_store, llm_server):
    # the two bounds on either side of any confidence, so that a refit of the selector (which moves the
    # extractive answer's confidence) cannot move this test: over the bound, the extractive answer stays
    refusal = forced(llm_server, ABSTAIN_TEXT)
    sure = ask(QUESTION, store=seed_store, **refusal, llm_refusal_below=0.0)
    assert not sure.abstained and "do not answer" in sure.note
    unsure = ask(QUESTION, store=seed_store, **refusal, llm_refusal_below=1.0)
    assert unsure.abstained and unsure.mode == "generated" and unsure.text == ABSTAIN_TEXT and not unsure.citations


def test_markup_in_the_reply_stays_text(seed_store, llm_server):
    reply = "White House national security spokesman John Kirby said <script>alert(1)</script> the United States is not pushing for a total cease-fire [1]."
    answer = ask(QUESTION, store=seed_store, **forced(llm_server, reply))
    assert answer.mode == "generated", answer.note
    assert "<script>alert(1)</script>" in answer.text  # as the characters it is: the UI shows text, never HTML
    assert "<script>alert(1)</script>" in json.loads(json.dumps(answer.to_dict()))["text"]


def test_stream_gives_the_draft_then_the_checked_answer(seed_store, llm_server):
    items = list(ask_stream(QUESTION, store=seed_store, **forced(llm_server, SUPPORTED)))
    drafts, final = items[:-1], items[-1]
    assert len(drafts) > 1 and all(isinstance(d, str) for d in drafts)
    assert "".join(drafts) == SUPPORTED
    assert isinstance(final, Answer) and final.mode == "generated", final.note


def test_server_stopped_mid_conversation_and_timeout_give_the_extractive_answer(seed_store):
    from evals.llm_server import llm_running

    with llm_running() as (url, server):
        first = ask(QUESTION, store=seed_store, **forced(url, SUPPORTED))
        assert first.mode == "generated", first.note
        # a reply that cannot finish in time: the answer is the extractive one, soon after the limit
        started = time.monotonic()
        slow = ask("What did Blinken say?", store=seed_store, **forced(url, "Blinken said " + "that " * 150, llm_timeout=1.0))
        assert slow.mode == "extractive" and not slow.abstained and slow.citations
        assert "took more than 1 s" in slow.note and time.monotonic() - started < 15
        server.kill()
        server.wait()
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.text}]
    second = ask("What did he say about a cease-fire?", history, store=seed_store, llm_url=url, llm_model="gone")
    assert second.mode == "extractive" and not second.abstained and second.citations
    assert url in second.note and "failed" in second.note


def test_without_an_llm_url_nothing_is_contacted_or_imported(seed_store):
    code = ("import sys; from qa import ask; a = ask('Who is John Kirby?', store=sys.argv[1]); "
            "print(a.mode, 'qa.compose' in sys.modules, any(m.startswith(('llama_index.llms', 'openai')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(seed_store)], capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in __import__("os").environ.items() if not k.startswith("QA_LLM")})
    assert out.stdout.split() == ["extractive", "False", "False"], out.stderr[-2000:]


def test_llm_settings_are_checked():
    import pytest

    from qa.errors import ConfigError

    assert Settings.from_env({"QA_LLM_URL": ""}).llm_url is None
    assert Settings.from_env({"QA_LLM_URL": "http://127.0.0.1:1/v1", "QA_LLM_TIMEOUT": "5"}).llm_timeout == 5.0
    with pytest.raises(ConfigError, match="QA_LLM_URL"):
        Settings.from_env({"QA_LLM_URL": "localhost:8080"})


def test_cli_flags_give_the_extractive_answer_and_a_note_when_the_llm_is_unreachable(seed_store):
    from evals.llm_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = subprocess.run([sys.executable, "-m", "qa", "ask", "--store", str(seed_store), "--llm-url", url,
                             "--llm-timeout", "5", QUESTION], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "[1]" in result.stdout and "Sources:" in result.stdout
    assert "Note: the language model failed" in result.stderr and url in result.stderr
    bad = subprocess.run([sys.executable, "-m", "qa", "ask", "--store", str(seed_store), "--llm-url", "localhost:8080",
                          QUESTION], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "QA_LLM_URL" in bad.stderr and "Traceback" not in bad.stderr

"""The OpenAI-compatible /v1 through the `openai` package against a real `qa serve` with a login, and its parts."""
import httpx
import pytest

from qa.settings import Settings
from qa.types import Answer, Citation
from ui.api import api_key, sources_text, split_messages

from conftest import API_PASSWORD


@pytest.fixture(scope="module")
def openai(api_server):
    from openai import OpenAI

    return OpenAI(base_url=f"{api_server}v1", api_key=API_PASSWORD, max_retries=0, timeout=120)


def test_models_lists_the_archive(openai):
    assert [m.id for m in openai.models.list()] == ["news-qa"]


def test_completion_and_a_streamed_follow_up(openai):
    first = [{"role": "user", "content": "Who is Matthew Miller?"}]
    reply = openai.chat.completions.create(model="news-qa", messages=first)
    content = reply.choices[0].message.content
    assert reply.choices[0].message.role == "assistant" and reply.choices[0].finish_reason == "stop"
    assert "Miller" in content and "[1]" in content and "\n\nSources:\n[1] " in content
    citation = reply.model_extra["citations"][0]
    assert "Miller" in citation["quote"] and f"characters {citation['start']}-{citation['end']}" in content
    assert reply.model_extra["abstained"] is False

    follow_up = first + [{"role": "assistant", "content": content},
                         {"role": "user", "content": "What did he say about the West Bank?"}]
    chunks = list(openai.chat.completions.create(model="news-qa", messages=follow_up, stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    streamed = "".join(pieces)
    assert len(pieces) > 2 and chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and all(c.object == "chat.completion.chunk" for c in chunks)
    citations = chunks[-1].model_extra["citations"]
    assert "West Bank" in citations[0]["quote"] and "West Bank" in streamed and "Sources:" in streamed
    again = openai.chat.completions.create(model="news-qa", messages=follow_up)
    assert again.choices[0].message.content == streamed  # streamed or not, the same answer


def test_an_unsure_answer_says_so_in_the_content_and_the_extra_field(openai):
    reply = openai.chat.completions.create(model="news-qa", messages=[
        {"role": "user", "content": "Did Israel agree to a ceasefire?"}])
    content = reply.choices[0].message.content
    assert content.startswith("Not sure: this is the closest the articles come") and "\n\nSources:\n[1] " in content
    assert reply.model_extra["unsure"] is True and reply.model_extra["abstained"] is False
    sure = openai.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": "Who is Matthew Miller?"}])
    assert sure.model_extra["unsure"] is False and not sure.choices[0].message.content.startswith("Not sure")


@pytest.mark.parametrize("question,message", [
    ("", "the question is empty: type a question about the articles"),
    ("x" * 100_000, "the question is 100000 characters long; the limit is 1000"),
])
def test_bad_question_is_a_400_with_the_projects_message(openai, question, message):
    from openai import BadRequestError

    with pytest.raises(BadRequestError) as raised:
        openai.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": question}])
    assert raised.value.status_code == 400 and raised.value.body["message"] == message
    assert openai.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": "Who is John Kirby?"}])


def test_without_the_key_it_is_a_401(api_server):
    from openai import AuthenticationError, OpenAI

    for key in ("wrong", "reader:" + API_PASSWORD):
        client = OpenAI(base_url=f"{api_server}v1", api_key=key, max_retries=0)
        with pytest.raises(AuthenticationError) as raised:
            client.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": "Who is John Kirby?"}])
        assert raised.value.status_code == 401 and "Bearer" in raised.value.body["message"]
    assert httpx.get(f"{api_server}v1/models").status_code == 401


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"messages": []}', b'{"messages": [{"role": "system", "content": "Hi"}]}'])
def test_malformed_requests_are_400_error_objects(api_server, body):
    reply = httpx.post(f"{api_server}v1/chat/completions", content=body,
                       headers={"Authorization": f"Bearer {API_PASSWORD}", "Content-Type": "application/json"})
    assert reply.status_code == 400 and reply.json()["error"]["type"] == "invalid_request_error"


def test_parts_without_a_server():
    assert api_key(Settings.from_env(auth="reader:pw")) == "pw"
    assert api_key(Settings.from_env(auth="reader:pw", api_key="k")) == "k"
    assert api_key(Settings.from_env()) is None
    question, history = split_messages([{"role": "system", "content": "Be brief"},
                                        {"role": "user", "content": [{"type": "text", "text": "Who?"}]}])
    assert (question, history) == ("Who?", [])
    assert sources_text(Answer("Q?", "No.", True)) == ""
    cited = Answer("Q?", "A. [1]", False, (Citation(1, "a.txt", "T", "quote", 3, 9, 0.9, None, date="2024"),))
    assert sources_text(cited) == "\n\nSources:\n[1] T (2024) — a.txt, characters 3-9"
    undated = Answer("Q?", "A. [1]", False, (Citation(1, "a.txt", "T", "quote", 3, 9, 0.9, None),))
    assert sources_text(undated) == "\n\nSources:\n[1] T (date not stated) — a.txt, characters 3-9"

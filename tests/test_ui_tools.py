"""The MCP tools through the official `mcp` SDK client against a real `qa serve --mcp`, and their parts called directly."""
import asyncio
import json

import httpx
import pytest

from qa.errors import BadQuestionError
from qa.settings import Settings
from ui.tools import article_dict

from conftest import API_PASSWORD, SEEDS

AUTH = {"Authorization": f"Bearer {API_PASSWORD}"}


def mcp_session(url: str, work, headers: dict | None = None):
    """Run ``await work(session)`` in an initialised MCP session over Gradio's streamable HTTP transport."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main():
        async with httpx.AsyncClient(headers=AUTH if headers is None else headers, timeout=httpx.Timeout(30, read=300)) as http, \
                streamable_http_client(f"{url}gradio_api/mcp/", http_client=http) as (r, w, _), \
                ClientSession(r, w) as session:
            await session.initialize()
            return await work(session)

    return asyncio.run(main())


def call(url: str, *calls: tuple[str, dict]) -> list:
    """The results of calling each (tool, arguments) in turn, in one session."""
    async def work(session):
        return [await session.call_tool(name, arguments) for name, arguments in calls]

    return mcp_session(url, work)


def test_exactly_the_three_tools_with_typed_described_parameters(api_server):
    async def work(session):
        return (await session.list_tools()).tools

    tools = {t.name: t for t in mcp_session(api_server, work)}
    assert set(tools) == {"ask", "search", "article"}  # the chat's own handlers are not tools
    schema = tools["ask"].inputSchema
    assert schema["required"] == ["question"] and schema["properties"]["question"]["type"] == "string"
    assert tools["search"].inputSchema["properties"]["k"]["type"] == "integer"
    for tool in tools.values():
        assert tool.description and all(p.get("description") for p in tool.inputSchema["properties"].values())


def test_ask_cites_offsets_that_slice_the_article_text(api_server):
    result, = call(api_server, ("ask", {"question": "Who is John Kirby?"}))
    assert not result.isError
    answer = json.loads(result.content[0].text)
    assert answer["abstained"] is False and answer["citations"]
    articles = call(api_server, *[("article", {"source": c["source"]}) for c in answer["citations"]])
    for c, stored in zip(answer["citations"], articles):
        stored = json.loads(stored.content[0].text)
        assert stored["text"][c["start"]:c["end"]] == c["quote"]
        assert (stored["title"], stored["date"], stored["outlet"]) == (c["title"], c["date"], c["outlet"])
    assert "Kirby" in answer["citations"][0]["quote"] and "date" in answer["citations"][0]  # null: 002 has none


def test_ask_follows_up_on_its_history(api_server):
    history = [{"role": "user", "content": "Who is Matthew Miller?"},
               {"role": "assistant", "content": "State Department spokesman Matthew Miller said ... [1]"}]
    result, = call(api_server, ("ask", {"question": "What did he say about the West Bank?", "history": history}))
    answer = json.loads(result.content[0].text)
    assert "Miller" in answer["query"] and "West Bank" in answer["citations"][0]["quote"]


def test_search_returns_passages_only(api_server):
    result, = call(api_server, ("search", {"query": "humanitarian pause", "k": 3}))
    passages = json.loads(result.content[0].text)["passages"]
    assert len(passages) == 3 and "citations" not in json.loads(result.content[0].text)
    p = passages[0]
    assert (SEEDS / p["source"]).read_text(encoding="utf-8")[p["start"]:p["end"]] == p["text"]


@pytest.mark.parametrize("name,arguments,message", [
    ("ask", {"question": "   "}, "the question is empty: type a question about the articles"),
    ("ask", {"question": "x" * 100_000}, "the question is 100000 characters long; the limit is 1000"),
    ("search", {"query": "Kirby", "k": 500}, "k must be a whole number from 1 to 20, got 500"),
    ("article", {"source": "../pyproject.toml"}, "no indexed article has the source '../pyproject.toml'"),
    ("article", {"source": str(SEEDS / "001_1d9d1f8b594cee10.txt")}, "no indexed article has the source"),
])
def test_bad_input_is_a_tool_error_with_the_projects_message(api_server, name, arguments, message):
    result, after = call(api_server, (name, arguments), ("ask", {"question": "Who is John Kirby?"}))
    assert result.isError and result.content[0].text.startswith(message)
    assert not after.isError  # and the server carries on


def test_the_mcp_endpoint_needs_the_key_when_a_login_is_set(api_server):
    async def work(session):
        return await session.list_tools()

    with pytest.raises(BaseException) as raised:  # the SDK raises the 401 inside an exception group
        mcp_session(api_server, work, headers={"Authorization": "Bearer wrong"})
    assert "401" in repr(raised.value.exceptions if hasattr(raised.value, "exceptions") else raised.value)
    reply = httpx.post(f"{api_server}gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                       headers={"Accept": "application/json, text/event-stream"})
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_api_key"


def test_article_and_dates_from_the_catalog(seed_store):
    settings = Settings.from_env(store=seed_store)
    stored = article_dict("001_1d9d1f8b594cee10.txt", settings)
    assert stored["outlet"] == "AFP" and stored["date"] and stored["text"]
    for bad in ("", None, "/etc/passwd", "seeds/001_1d9d1f8b594cee10.txt"):
        with pytest.raises(BadQuestionError):
            article_dict(bad, settings)
    from qa import ask

    data = ask("Who is John Kirby?", store=seed_store).to_dict()
    assert data["citations"][0]["date"] == article_dict(data["citations"][0]["source"], settings)["date"]

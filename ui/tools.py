"""The three tools agents get (over MCP, and through gradio_client): ``ask``, ``search`` and ``article``.

Each is a thin call into ``qa`` with typed parameters and a docstring that Gradio turns into the tool's
description. No answering logic lives here, and ``article`` looks sources up in the index's catalog
only: it never opens a file, so a path is just an unknown source. The library's errors become
``gr.Error`` with the project's message, which the caller sees as a tool error.
"""
import json
from collections.abc import Callable
from dataclasses import asdict
from functools import cache

from qa.answer import article as stored_article
from qa.answer import ask as qa_ask
from qa.errors import BadQuestionError, QAError
from qa.search import search as qa_search
from qa.settings import Settings


def overrides(settings: Settings) -> dict:
    """``settings`` as the keyword arguments of ``qa.ask()`` and friends."""
    return {"store": settings.store, "embed_model": settings.embed_model, "top_k": settings.top_k,
            "min_confidence": settings.min_confidence, "selector": settings.selector, "chroma_url": settings.chroma_url,
            "namespace": settings.namespace, "llm_url": settings.llm_url, "llm_model": settings.llm_model,
            "llm_api_key": settings.llm_api_key, "llm_timeout": settings.llm_timeout}


def article_dict(source: object, settings: Settings) -> dict:
    """The stored text and metadata of the catalogued article ``source``; ``BadQuestionError`` otherwise."""
    if not isinstance(source, str) or not source.strip():
        raise BadQuestionError("give an article's source, as in a citation's or passage's 'source'")
    stored = stored_article(source, **overrides(settings))
    if stored is None:
        raise BadQuestionError(f"no indexed article has the source {source[:200]!r}; use the 'source' of a "
                               "citation or passage")
    return {"source": stored.source, "title": stored.title, "outlet": stored.outlet, "date": stored.date,
            "text": stored.text}


@cache
def _json_type() -> type:
    from gradio.data_classes import JsonData

    class Structured(JsonData):
        """JSON for both callers: Gradio's HTTP API sends it as a JSON value (gradio_client gets a dict),
        its MCP server sends ``str()`` of it as the tool's text content, which this makes JSON too."""

        def __str__(self) -> str:
            return json.dumps(self.root, ensure_ascii=False)

    return Structured


def structured(data: dict) -> dict:
    """``data`` as a tool's result: a dict to gradio_client, JSON text to an MCP client."""
    return _json_type()(json.loads(json.dumps(data)))  # tuples become lists: JSON values only


def _tool_error(err: QAError) -> Exception:
    import gradio as gr

    class ToolError(gr.Error):
        def __str__(self) -> str:  # gr.Error's own is repr(message): quotes around the project's message
            return str(self.message)

    return ToolError(str(err), print_exception=False)


def tools(settings: Settings) -> list[Callable]:
    """``ask``, ``search`` and ``article`` bound to ``settings``; the function names are the tool names."""

    def ask(question: str, history: list[dict] | None = None, since: str | None = None, until: str | None = None) -> dict:
        """Answer a question about the news articles with the articles' own sentences, each cited, or say that they do not answer it.

        Args:
            question: The question in plain words (at most 1000 characters).
            history: The conversation so far, oldest first, as {"role": "user" or "assistant", "content": text} messages; lets a follow-up such as "What did he say next?" lean on earlier turns.
            since: Only articles published on or after this date, as YYYY-MM-DD (articles with no stated date are then left out).
            until: Only articles published on or before this date, as YYYY-MM-DD.

        Returns:
            An object with: text (the answer, with [n] markers); abstained (true when the articles do not answer: the answer is refused); citations (number, source, title, outlet, date, quote, start, end, where the text of article(source) from start to end is exactly quote); passages (what was retrieved); confidence; unsure (true when the answer is only the closest the articles come: more likely wrong than right by its confidence; say so when passing it on); query; short (null, or the figure, name, day or place asked for, as text, source, start and end in the same article, a best guess); read_as (the question as it was read when a misspelt word of it was taken for a word of the articles, else empty).
        """
        try:
            return structured(qa_ask(question, history or None, since or None, until or None, **overrides(settings)).to_dict())
        except QAError as err:
            raise _tool_error(err) from None

    def search(query: str, k: int = 5) -> dict:
        """Search the news articles for the passages that best match a query, best first; no answer is chosen.

        Args:
            query: What to look for, in plain words (at most 1000 characters).
            k: How many passages to return, from 1 to 20.

        Returns:
            An object with passages: a list, best first, each with source, title, outlet, text, start, end (the text of article(source) from start to end is exactly text) and score.
        """
        try:
            return structured({"passages": [asdict(p) for p in qa_search(query, k, **overrides(settings))]})
        except QAError as err:
            raise _tool_error(err) from None

    def article(source: str) -> dict:
        """The full stored text and metadata of one indexed article: what citation and passage offsets point into.

        Args:
            source: The article's source, exactly as in a citation or passage (a key of the index's catalog, not a file path).

        Returns:
            An object with source, title, outlet, date (null where unknown) and text.
        """
        try:
            return structured(article_dict(source, settings))
        except QAError as err:
            raise _tool_error(err) from None

    return [ask, search, article]

"""The Gradio chat: answers with numbered citations, a sources panel with highlighted evidence, feedback.

It holds no retrieval or answering logic: every answer comes from ``qa.ask()``. All article and user
text is HTML-escaped before it is put into markup (articles are untrusted input).
"""

import html
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import index  # noqa: F401  (offline environment before gradio loads)
from qa.answer import article, ask, corpus_stats, engine_for
from qa.errors import NoIndexError, QAError
from qa.settings import Settings
from qa.types import Answer
from ui.tools import overrides as _overrides
from ui.tools import tools

EXAMPLES = [
    "Who is Matthew Miller?",
    "How many people have been displaced in Gaza?",
    "What did Israel say it uncovered in Bureij?",
    "What did Blinken say about the war in Ukraine?",
]
CSS = """
.qa-sources mark { background: #ffe58a; padding: 0 2px; }
.qa-source { border-left: 3px solid #888; padding: 4px 10px; margin: 8px 0; }
.qa-closest { color: #666; }
.qa-article { white-space: pre-wrap; max-height: 320px; overflow-y: auto; font-size: 0.9em; }
"""
_feedback_lock = threading.Lock()


def highlight(text: str, offset: int, spans: list[tuple[int, int]]) -> str:
    """``text`` (which starts at ``offset`` in its article) as escaped HTML, ``spans`` in <mark>.

    >>> highlight("A <b> C", 10, [(12, 15)])
    'A <mark>&lt;b&gt;</mark> C'
    """
    out, pos = [], 0
    for start, end in sorted(spans):
        start, end = max(start - offset, pos), min(end - offset, len(text))
        if start >= end:
            continue
        out += [html.escape(text[pos:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def render_sources(answer: Answer, settings: Settings) -> str:
    """The sources panel: each citation in its passage, and the whole article on demand."""
    if answer.abstained:
        items = [f"<p><b>No answer:</b> {html.escape(answer.text)}</p>",
                 "<p class='qa-closest'>No sentence answered with enough confidence. The closest passages, "
                 "to check for yourself:</p>"]
        for p in answer.passages[:3]:
            items.append(f"<div class='qa-source qa-closest'><b>{html.escape(p.title)}</b> "
                         f"<small>{html.escape(p.source)}</small><br>{html.escape(p.text)}</div>")
        return "<div class='qa-sources'>" + "".join(items) + "</div>"
    by_source: dict[str, list[tuple[int, int]]] = {}
    for c in answer.citations:
        by_source.setdefault(c.source, []).append((c.start, c.end))
    items = []
    for c in answer.citations:
        stored = article(c.source, **_overrides(settings))
        passage = stored.text[c.passage_start:c.passage_end] if stored else c.quote
        outlet = f" · {html.escape(c.outlet)}" if c.outlet else ""
        whole = ""
        if stored:
            whole = (f"<details><summary>Open the whole article</summary><div class='qa-article'>"
                     f"{highlight(stored.text, 0, by_source[c.source])}</div></details>")
        items.append(
            f"<div class='qa-source' id='qa-cite-{c.number}'><b>[{c.number}] {html.escape(c.title)}</b>{outlet} "
            f"<small>{html.escape(c.source)}</small><br>"
            f"{highlight(passage, c.passage_start, [(c.start, c.end)])}{whole}</div>"
        )
    return "<div class='qa-sources'>" + "".join(items) + "</div>"


def corpus_line(settings: Settings) -> str:
    try:
        stats = corpus_stats(**_overrides(settings))
    except QAError as err:
        return html.escape(str(err))
    when = datetime.fromtimestamp(stats.last_indexed, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if stats.last_indexed else "never"
    return f"Corpus: {stats.articles} articles, {stats.chunks} passages; last indexed {when}."


def respond(message: str, history: list[dict], answers: list[dict], settings: Settings) -> Iterator[tuple]:
    """Stream the answer to ``message`` into the chat; yield (history, sources html, answers, textbox)."""
    history = list(history or [])
    asked = [{"role": m["role"], "content": m["content"]} for m in history]
    history.append({"role": "user", "content": message})
    try:
        answer = ask(message, asked, **_overrides(settings))
    except QAError as err:
        history.append({"role": "assistant", "content": f"⚠ {err}"})
        yield history, "", answers, ""
        return
    words = answer.text.split(" ")
    history.append({"role": "assistant", "content": ""})
    step = max(1, len(words) // 8)
    for i in range(step, len(words), step):  # the answer appears progressively
        history[-1] = {"role": "assistant", "content": " ".join(words[:i])}
        yield history, "", answers, ""
        time.sleep(0.02)
    history[-1] = {"role": "assistant", "content": answer.text}
    answers = list(answers or []) + [{"index": len(history) - 1, **answer.to_dict()}]
    yield history, render_sources(answer, settings), answers, ""


def save_feedback(settings: Settings, liked: bool | None, message_index: int, answers: list[dict]) -> None:
    """Append a thumbs up/down with its question, answer and citations to ``<store>/feedback.jsonl``;
    ``liked`` is None when the reader takes a vote back (clicks the same thumb again)."""
    answer = next((a for a in answers or [] if a["index"] == message_index), None)
    if answer is None:
        return
    record = {"time": datetime.now(timezone.utc).isoformat(), "liked": liked, "question": answer["question"],
              "answer": answer["text"], "abstained": answer["abstained"], "citations": answer["citations"]}
    settings.store.mkdir(parents=True, exist_ok=True)
    with _feedback_lock, open(settings.store / "feedback.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


def create_app(settings: Settings):
    """The Gradio Blocks app for ``settings`` (not launched)."""
    import gradio as gr

    with gr.Blocks(title="News Q&A") as app:
        gr.Markdown("## Ask the news articles\nAnswers are the articles' own sentences, with numbered sources.")
        info = gr.Markdown(corpus_line(settings), elem_id="qa-corpus")
        answers = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="Chat", height=460, render_markdown=False, elem_id="qa-chat",
                                  feedback_options=("Like", "Dislike"))
                box = gr.Textbox(placeholder="Ask about the articles…", show_label=False, elem_id="qa-input",
                                 submit_btn=True)
                with gr.Row():
                    clear = gr.Button("New chat", elem_id="qa-clear")
                gr.Examples(EXAMPLES, inputs=box, label="Examples")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML("<p>Citations appear here.</p>", elem_id="qa-sources")

        def on_submit(message, history, state):
            yield from respond(message, history, state, settings)

        box.submit(on_submit, [box, chat, answers], [chat, sources, answers, box], api_visibility="private")
        clear.click(lambda: ([], "<p>Citations appear here.</p>", [], corpus_line(settings)), None,
                    [chat, sources, answers, info], api_visibility="private")

        # Gradio finds the like data by this annotation's type, so this module must not use
        # `from __future__ import annotations` (the string "gr.LikeData" does not resolve: gr is local).
        def on_like(state: list, data: gr.LikeData) -> None:
            # Gradio sends True for Like, False for Dislike and "" when the reader clicks a chosen thumb again
            liked = data.liked if isinstance(data.liked, bool) else None
            save_feedback(settings, liked, data.index if isinstance(data.index, int) else data.index[0], state)

        chat.like(on_like, [answers], None, api_visibility="private")
        # the app's only public endpoints, and with `qa serve --mcp` its only MCP tools: /ask, /search, /article
        # (unqueued: Gradio's MCP server then calls them in-process, not through a client of its own)
        for tool in tools(settings):
            gr.api(tool, api_name=tool.__name__, queue=False)
    return app


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def exposure_warning(host: str, auth: str | None) -> str | None:
    """The warning ``qa serve`` prints when the chat listens beyond this machine without a login.

    >>> exposure_warning("127.0.0.1", None) is None, exposure_warning("0.0.0.0", "reader:pw") is None
    (True, True)
    >>> exposure_warning("0.0.0.0", None)[:45]
    'Warning: serving on 0.0.0.0 without QA_AUTH: '
    """
    if auth or host in LOOPBACK or host.startswith("127."):
        return None
    return (f"Warning: serving on {host} without QA_AUTH: the whole archive (every indexed article, and "
            "its APIs: /ask, /v1 and MCP) is open to anyone on the network who can reach this port. Set "
            "QA_AUTH=user:password to require a login, or serve on 127.0.0.1.")


def serve(settings: Settings, block: bool = True):
    """Build the index if there is none, then launch the chat on ``settings.host:port``."""
    import sys

    from index import build

    warning = exposure_warning(settings.host, settings.auth)
    if warning:
        print(warning, file=sys.stderr, flush=True)

    try:
        corpus_stats(**_overrides(settings))
    except NoIndexError:
        where = settings.chroma_url or settings.store
        print(f"No index in {where}: indexing {settings.corpus} first…", file=sys.stderr)
        summary = build(settings.corpus, settings.store, model_path=settings.embed_model,
                        chunk_words=settings.chunk_words, overlap=settings.chunk_overlap,
                        chroma_url=settings.chroma_url, namespace=settings.namespace)
        print("\n".join(summary.lines()), file=sys.stderr)
    # answer one example now (the engine ask() uses): the model, both indexes and what answering
    # imports on first use are loaded before the page is up, so the first reader does not wait for them
    engine_for(Settings.from_env(**_overrides(settings))).ask(EXAMPLES[0])
    auth = None
    if settings.auth:
        user, _, password = settings.auth.partition(":")
        if not user or not password:
            raise QAError("QA_AUTH must be user:password")
        auth = (user, password)
    from starlette.middleware import Middleware

    from ui.api import BearerGate, api_key, router

    app = create_app(settings)
    app.queue(default_concurrency_limit=4)
    # /v1 and the bearer gate go on the FastAPI app Gradio builds (its MCP endpoint has no login of its own)
    fastapi_kwargs = {"routes": router(settings).routes, "middleware": [Middleware(BearerGate, key=api_key(settings))]}
    return app.launch(server_name=settings.host, server_port=settings.port, auth=auth, share=False,
                      prevent_thread_lock=not block, css=CSS, show_error=False, mcp_server=settings.mcp,
                      app_kwargs=fastapi_kwargs)

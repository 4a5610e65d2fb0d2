"""The Gradio chat: each answer with its own numbered sources under it, feedback, and a conversation
that never loses what the reader typed.

It holds no retrieval or answering logic: every answer comes from ``qa.ask()``; ``ui.render`` turns an
answer into escaped HTML. The conversation lives on the server (Gradio session state, shared by
reference between a session's events), so a question sent while another is answered is queued, not
dropped, and "New chat" during an answer throws the late answer away.
"""

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import index  # noqa: F401  (offline environment before gradio loads)
from qa.answer import article, clean_question, corpus_stats, engine_for
from qa.compose import ask_stream
from qa.errors import BadQuestionError, NoIndexError, QAError
from qa.retrieve import check_dates
from qa.settings import Settings
from qa.types import Answer
from ui.render import PENDING, highlight, render_answer, render_draft, render_error, render_question  # noqa: F401
from ui.tools import overrides as _overrides
from ui.tools import tools

EXAMPLES = [
    "Who is Matthew Miller?",
    "How many people have been displaced in Gaza?",
    "What did Israel say it uncovered in Bureij?",
    "What did Blinken say about the war in Ukraine?",
]
TITLE = "News Q&A: ask the news articles"
DESCRIPTION = ("Ask questions about a folder of news articles; every answer is the articles' own sentences, "
               "with its sources, outlets and dates.")
HERE = Path(__file__).resolve().parent
CSS = (HERE / "chat.css").read_text(encoding="utf-8")
SCRIPT = (HERE / "chat.js").read_text(encoding="utf-8")
HEAD = f'<meta name="description" content="{DESCRIPTION}"><script>{SCRIPT}</script>'
DRAFT_EVERY = 0.1  # seconds between two updates of a streaming draft (each sends the whole chat)
# one lock for every conversation's bookkeeping (short critical sections; answering happens outside it)
_conversation_lock = threading.Lock()
_feedback_lock = threading.Lock()


def new_conversation() -> dict:
    """A reader's conversation, kept on the server per browser session: its turns (question, state,
    answer or error) and a generation that "New chat" bumps so that a late answer is dropped.

    >>> new_conversation()
    {'turns': [], 'generation': 0, 'working': False}
    """
    return {"turns": [], "generation": 0, "working": False}


def add_question(conversation: dict, message: str, settings: Settings, since: str | None = None,
                 until: str | None = None) -> None:
    """Queue ``message`` in ``conversation`` (shown at once, answered in order), to be answered from
    articles published between ``since`` and ``until`` when given; ``BadQuestionError`` when it is
    empty or too long or a date is not YYYY-MM-DD, leaving the conversation as it was."""
    question = clean_question(message, settings.max_question_chars)
    since, until = check_dates(since, until)
    with _conversation_lock:
        conversation["turns"].append({"question": question, "state": "pending", "answer": None, "error": None,
                                      "since": since, "until": until})


def reset(conversation: dict) -> None:
    """Empty ``conversation`` in place; an answer still being computed for it is then thrown away."""
    with _conversation_lock:
        conversation["turns"].clear()
        conversation["generation"] += 1
        conversation["working"] = False


def messages(conversation: dict, settings: Settings) -> list[dict]:
    """The chat's messages: each question, then its answer (with its own sources), error or "searching"."""
    out = []
    for i, turn in enumerate(list(conversation["turns"])):
        out.append({"role": "user", "content": render_question(turn["question"])})
        if turn["state"] == "pending":
            content = render_draft(turn["draft"]) if turn.get("draft") else PENDING
        elif turn["state"] == "error":
            content = render_error(turn["error"])
        else:  # a finished answer never changes: rendered (its articles read) once, not on each later update
            if "html" not in turn:
                turn["html"] = render_answer(turn["answer"], i, lambda source: article(source, **_overrides(settings)))
            content = turn["html"]
        if turn.get("since") or turn.get("until"):
            content = (f"<p class='qa-range'>Only articles published from {turn.get('since') or 'any date'} "
                       f"to {turn.get('until') or 'any date'}.</p>{content}")
        out.append({"role": "assistant", "content": content})
    return out


def _history(turns: list[dict]) -> list[dict]:
    history = []
    for turn in turns:
        if turn["state"] == "answered":
            history += [{"role": "user", "content": turn["question"]},
                        {"role": "assistant", "content": turn["answer"].text}]
    return history


def answer_pending(conversation: dict, settings: Settings) -> Iterator[list[dict]]:
    """Answer every queued question of ``conversation`` in order, yielding the chat after each. One
    call answers a conversation at a time; another waits for it and then takes over what is left, so
    two questions sent quickly are both answered, in order. A call with nothing left to answer yields
    nothing (the page's handler then tells Gradio to leave the chat as it is)."""
    while True:
        with _conversation_lock:
            if not conversation["working"]:
                conversation["working"] = True
                generation = conversation["generation"]
                break
        time.sleep(0.05)
    while True:
        with _conversation_lock:
            if conversation["generation"] != generation:
                return  # "New chat" meanwhile: it reset the flag and the turns
            turn = next((t for t in conversation["turns"] if t["state"] == "pending"), None)
            if turn is None:
                conversation["working"] = False
                break
            history = _history(conversation["turns"][:conversation["turns"].index(turn)])
        answer, error, shown = None, None, 0.0
        try:
            # with a language model configured its reply streams in as a draft, then the checked answer
            # replaces it; without one this is the answer of ask()
            for item in ask_stream(turn["question"], history, turn.get("since"), turn.get("until"),
                                   **_overrides(settings)):
                if isinstance(item, Answer):
                    answer = item
                    continue
                with _conversation_lock:
                    if conversation["generation"] != generation:
                        return  # "New chat": closing this generator closes the model's stream too
                    turn["draft"] = turn.get("draft", "") + item
                if time.monotonic() - shown >= DRAFT_EVERY:
                    shown = time.monotonic()
                    yield messages(conversation, settings)
        except QAError as err:
            answer, error = None, str(err)
        with _conversation_lock:
            if conversation["generation"] != generation:
                return
            turn.update(state="error" if error else "answered", answer=answer, error=error, draft="")
        yield messages(conversation, settings)


def respond(message: str, conversation: dict, settings: Settings) -> Iterator[list[dict]]:
    """Ask ``message`` in ``conversation`` and yield the chat until it is answered (for callers that
    do not need the page's two steps); a bad question comes back as ``BadQuestionError``."""
    add_question(conversation, message, settings)
    yield messages(conversation, settings)
    yield from answer_pending(conversation, settings)


def corpus_line(settings: Settings) -> str:
    try:
        stats = corpus_stats(**_overrides(settings))
    except QAError as err:
        return str(err)
    when = datetime.fromtimestamp(stats.last_indexed, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if stats.last_indexed else "never"
    return f"Corpus: {stats.articles} articles, {stats.chunks} passages; last indexed {when}."


def save_feedback(settings: Settings, liked: bool | None, message_index: int, conversation: dict) -> bool:
    """Append a thumbs up/down with its question, answer and citations to ``<store>/feedback.jsonl``;
    ``liked`` is None when the reader takes a vote back (clicks the same thumb again). Only answers
    are recorded (not an error or a question still being answered); returns whether it was."""
    turns = conversation["turns"]
    turn = turns[message_index // 2] if message_index % 2 == 1 and message_index // 2 < len(turns) else None
    if turn is None or turn["state"] != "answered":
        return False
    answer = turn["answer"].to_dict()
    record = {"time": datetime.now(timezone.utc).isoformat(), "liked": liked, "question": answer["question"],
              "answer": answer["text"], "abstained": answer["abstained"], "citations": answer["citations"]}
    settings.store.mkdir(parents=True, exist_ok=True)
    with _feedback_lock, open(settings.store / "feedback.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return True


def create_app(settings: Settings):
    """The Gradio Blocks app for ``settings`` (not launched)."""
    import gradio as gr

    limit = settings.max_question_chars
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown("## Ask the news articles\nAnswers are the articles' own sentences; each answer lists its "
                    "own sources under it, with headline, outlet and date.")
        info = gr.Markdown(corpus_line(settings), elem_id="qa-corpus")
        conversation = gr.State(new_conversation())
        chat = gr.Chatbot(label="Conversation", height="70vh", render_markdown=False, elem_id="qa-chat",
                          feedback_options=("Like", "Dislike"), buttons=[])
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder="Ask about the articles…", label="Your question", show_label=False,
                             elem_id="qa-input", max_length=limit, lines=1, max_lines=6, scale=6, autofocus=True)
            send = gr.Button("Send", elem_id="qa-send", variant="primary", scale=1, min_width=80)
        gr.HTML(f"<p id='qa-hint' class='qa-hint'>Enter sends, Shift+Enter makes a new line. "
                f"<span id='qa-count'>0</span> of {limit:,} characters.</p>", elem_id="qa-help")
        notice = gr.HTML("", elem_id="qa-notice-box")
        with gr.Row():
            clear = gr.Button("New chat", elem_id="qa-clear", size="sm")
        with gr.Accordion("Only articles published between two dates (optional)", open=False, elem_id="qa-dates"):
            with gr.Row():
                since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="qa-since", max_length=10, placeholder="2023-10-01")
                until = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="qa-until", max_length=10, placeholder="2023-12-31")
        gr.Markdown("Examples (fill the box; Enter sends):")
        with gr.Row(elem_id="qa-examples"):
            example_buttons = [gr.Button(e, size="sm", elem_classes=["qa-example"]) for e in EXAMPLES]

        def on_submit(message, state, first, last):
            try:
                add_question(state, message, settings, first, last)
            except BadQuestionError as err:
                # the reader's text stays in the box; the reason is shown under it
                return gr.skip(), gr.skip(), f"<p class='qa-notice' role='alert'>⚠ {err}</p>"
            return messages(state, settings), "", ""

        def on_work(state):
            # a call that answered nothing must still yield: Gradio 6 empties the chat of a generator
            # that ends without yielding (seen when two questions are sent quickly); skip = leave it as is
            shown = False
            for chat_messages in answer_pending(state, settings):
                shown = True
                yield chat_messages
            if not shown:
                yield gr.skip()

        def on_clear(state):
            reset(state)
            return [], "", corpus_line(settings)

        for trigger in (box.submit, send.click):
            trigger(on_submit, [box, conversation, since, until], [chat, box, notice], queue=False, show_progress="hidden",
                    trigger_mode="multiple", api_visibility="private").then(
                on_work, [conversation], [chat], show_progress="hidden", trigger_mode="multiple",
                api_visibility="private")
        clear.click(on_clear, [conversation], [chat, notice, info], queue=False, show_progress="hidden",
                    api_visibility="private")
        chat.clear(on_clear, [conversation], [chat, notice, info], queue=False, show_progress="hidden",
                   api_visibility="private")
        for button, example in zip(example_buttons, EXAMPLES):
            button.click(lambda e=example: e, None, [box], queue=False, show_progress="hidden",
                         api_visibility="private").then(
                None, None, None, js="() => document.querySelector('#qa-input textarea').focus()")

        # Gradio finds the like data by this annotation's type, so this module must not use
        # `from __future__ import annotations` (the string "gr.LikeData" does not resolve: gr is local).
        def on_like(state: dict, data: gr.LikeData) -> None:
            # Gradio sends True for Like, False for Dislike and "" when the reader clicks a chosen thumb again
            liked = data.liked if isinstance(data.liked, bool) else None
            save_feedback(settings, liked, data.index if isinstance(data.index, int) else data.index[0], state)

        chat.like(on_like, [conversation], None, api_visibility="private")
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
    port_free(settings.host, settings.port)  # before indexing and loading: a taken port fails in a second, not after

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
    try:
        engine_for(Settings.from_env(**_overrides(settings))).ask(EXAMPLES[0])
    except QAError as err:  # an empty index, say: the page still starts and tells each reader why
        print(f"warning: {err}", file=sys.stderr, flush=True)
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
    from ui.page import PageMeta

    fastapi_kwargs = {"routes": router(settings).routes,
                      "middleware": [Middleware(BearerGate, key=api_key(settings)),
                                     Middleware(PageMeta, title=TITLE, description=DESCRIPTION)]}
    # quiet: Gradio's own start lines suggest `share=True`, which this app never sets; it says where it runs itself
    launched = app.launch(server_name=settings.host, server_port=settings.port, auth=auth, share=False,
                          prevent_thread_lock=True, quiet=True, css=CSS, head=HEAD, favicon_path=HERE / "icon.svg",
                          show_error=False, mcp_server=settings.mcp, app_kwargs=fastapi_kwargs)
    print(f"The chat is on {app.local_url}" + (" (Ctrl+C stops it)" if block else ""), file=sys.stderr, flush=True)
    if block:
        app.block_thread()
    return launched


def port_free(host: str, port: int) -> None:
    """A ``QAError`` naming ``--port`` when nothing can listen on ``host:port`` (another server has it).

    >>> import socket
    >>> with socket.socket() as taken:
    ...     taken.bind(("127.0.0.1", 0)); taken.listen()
    ...     try:
    ...         port_free("127.0.0.1", taken.getsockname()[1])
    ...     except QAError as err:
    ...         print("--port" in str(err))
    True
    """
    import socket

    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a closing socket is no owner
            probe.bind(address)
    except OSError as err:
        raise QAError(f"port {host}:{port} cannot be used ({err.strerror or err}): another server may have it; "
                      "pass a free one with --port (QA_PORT)") from None

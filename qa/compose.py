"""Bring your own LLM: an OpenAI-compatible server writes the answer from numbered candidate sentences,
and every sentence it writes is checked (``qa.claims``) before the reader sees it.

Used only when ``Settings.llm_url`` is set; then ``Engine.ask`` hands its extractive answer here. The
model gets the question, the conversation and the extractive answerer's best candidate sentences (its
cited ones first), numbered, with their article's title, outlet and date. Its reply keeps only the
sentences that pass the check, cited with the candidates' exact offsets; when none passes, or the server
errs or takes longer than ``llm_timeout``, the extractive answer is returned with a ``note`` saying why.
Refusal is the extractive answerer's, or the model's when the extractive confidence is under
``llm_refusal_below``. Retrieval and follow-up handling stay the project's (``found.query``).

llama-index's ``OpenAILike`` is built here with every endpoint setting given explicitly (never its
OpenAI defaults, never ``OPENAI_API_KEY``) and no llama-index type leaves this module. The model's text
is plain text: nothing here renders or trusts it.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from qa.answer import ABSTAIN_TEXT, Gathered, engine_for
from qa.claims import check_reply, is_refusal
from qa.errors import ConfigError, LLMError, LLMTimeoutError
from qa.retrieve import dated
from qa.selector import rank
from qa.settings import Settings
from qa.types import Answer, Citation, Claim

SYSTEM = ("You answer questions about news articles using only the numbered sentences you are given. "
          "Write one to three short sentences. End each sentence with the number of the sentence it comes "
          "from in square brackets, like [2]. Copy names, numbers and dates exactly as they are written. "
          f"If the sentences do not answer the question, write only: {ABSTAIN_TEXT}")
HISTORY_MESSAGES = 4  # the last turns of the conversation the model sees (retrieval has its own follow-up logic)
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass(frozen=True)
class Numbered:
    """A candidate sentence as numbered for the model: ``original[start:end] == text`` in ``source``."""

    number: int
    source: str
    title: str
    outlet: str | None
    date: str | None
    text: str
    start: int
    end: int
    passage_start: int
    passage_end: int
    p: float


def numbered(found: Gathered, extractive: Answer, ranker: dict, limit: int) -> list[Numbered]:
    """The extractive answer's cited sentences, then the other candidates by the ranker, ``limit`` at most."""
    cited = {(c.source, c.start): i for i, c in enumerate(extractive.citations)}
    ranked = rank(found.candidates, ranker)
    ranked.sort(key=lambda r: cited.get((r.source, found.places[r.key][1].start), len(cited)))
    out = []
    for r in ranked[:limit]:
        hit, span = found.places[r.key]
        c = hit.chunk
        out.append(Numbered(len(out) + 1, r.source, c.title, c.outlet, c.date, r.text, span.start, span.end,
                            c.start, c.end, round(r.p, 4)))
    return out


def messages(question: str, history: Sequence[dict], given: Sequence[Numbered]) -> list[dict]:
    """The chat sent to the model: instructions, the last turns (without their markers), then the numbered
    sentences and the question.

    >>> n = Numbered(1, "a.txt", "Talks", "AP", "2024-01-09", "Kirby spoke.", 0, 12, 0, 12, 0.9)
    >>> m = messages("Who spoke?", [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello [1]."}], [n])
    >>> [x["role"] for x in m], m[2]["content"], m[3]["content"]
    (['system', 'user', 'assistant', 'user'], 'Hello.', 'Sentences:\\n[1] (Talks, AP, 2024-01-09) Kirby spoke.\\n\\nQuestion: Who spoke?')
    """
    turns = [{"role": m["role"], "content": _MARKERS.sub("", m["content"]).strip()}
             for m in history[-HISTORY_MESSAGES:] if m.get("role") in ("user", "assistant")]
    lines = []
    for n in given:
        title = " ".join(n.title.split()[:8]) + ("…" if len(n.title.split()) > 8 else "")
        where = ", ".join(x for x in (title, n.outlet, n.date) if x)
        lines.append(f"[{n.number}] ({where}) {n.text}" if where else f"[{n.number}] {n.text}")
    return [{"role": "system", "content": SYSTEM}, *turns,
            {"role": "user", "content": "Sentences:\n" + "\n".join(lines) + f"\n\nQuestion: {question}"}]


def checked(extractive: Answer, given: Sequence[Numbered], reply: str, refusal_below: float) -> Answer:
    """The answer a model's ``reply`` makes: its supported sentences with their citations, a refusal, or
    the extractive answer with a note (and the failed checks) when nothing in it is supported."""
    if is_refusal(reply):
        if extractive.confidence < refusal_below:
            return replace(extractive, text=ABSTAIN_TEXT, abstained=True, citations=(), short=None, mode="generated",
                           unsure=False)
        return replace(extractive, note=f"the language model said the articles do not answer; the extractive "
                                        f"answer (confidence {extractive.confidence:.2f}) is given instead")
    claims = check_reply(reply, [n.text for n in given])
    if not any(c.supported for c in claims):
        why = "it wrote nothing" if not claims else \
            f"none of its {len(claims)} sentence(s) is supported by the sentences it cites"
        return replace(extractive, claims=tuple(claims), note=f"the language model's answer was not used: {why}")
    citations: list[Citation] = []
    number_of: dict[int, int] = {}
    final, parts = [], []
    for claim in claims:
        if not claim.supported:
            final.append(claim)
            continue
        for n in claim.cited:
            if n not in number_of:
                g = given[n - 1]
                number_of[n] = len(citations) + 1
                citations.append(Citation(number_of[n], g.source, g.title, g.text, g.start, g.end, g.p, g.outlet,
                                          g.passage_start, g.passage_end, g.date))
        renumbered = tuple(number_of[n] for n in claim.cited)
        final.append(replace(claim, cited=renumbered))
        parts.append(f"{claim.text} {' '.join(f'[{n}]' for n in renumbered)}")
    return replace(extractive, text=" ".join(parts), abstained=False, citations=tuple(citations), short=None,
                   mode="generated", claims=tuple(final), note="")


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def _client(settings: Settings):
    """The llama-index ``OpenAILike`` for the LLM settings (one per process), everything given explicitly."""
    key = (settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout, settings.llm_max_tokens)
    with _clients_lock:
        if key not in _clients:
            try:
                from llama_index.llms.openai_like import OpenAILike
            except ImportError:
                raise ConfigError("QA_LLM_URL is set but the LLM client is not installed: "
                                  "pip install -e '.[llm]' (llama-index-llms-openai-like)") from None
            _clients[key] = OpenAILike(
                model=settings.llm_model, api_base=settings.llm_url, api_key=settings.llm_api_key or "none",
                is_chat_model=True, is_function_calling_model=False, context_window=4096,
                max_tokens=settings.llm_max_tokens, temperature=0.0, timeout=settings.llm_timeout, max_retries=0)
        return _clients[key]


def stream_reply(settings: Settings, chat: Sequence[dict]) -> Iterator[str]:
    """The model's reply to ``chat``, piece by piece as the server streams it; ``LLMError`` when the server
    fails, ``LLMTimeoutError`` when the whole reply takes longer than ``llm_timeout``."""
    from llama_index.core.llms import ChatMessage

    llm = _client(settings)
    deadline = time.monotonic() + settings.llm_timeout
    try:
        for part in llm.stream_chat([ChatMessage(role=m["role"], content=m["content"]) for m in chat]):
            if time.monotonic() > deadline:
                raise LLMTimeoutError(f"the language model took more than {settings.llm_timeout:g} s")
            if part.delta:
                yield part.delta
    except LLMError:
        raise
    except Exception as err:  # the server is outside: any failure of the call means "no generated answer"
        if "timeout" in type(err).__name__.lower() or "timed out" in str(err).lower():
            raise LLMTimeoutError(f"the language model took more than {settings.llm_timeout:g} s") from err
        raise LLMError(f"the language model failed ({type(err).__name__}: {str(err)[:200]})") from err


def compose(settings: Settings, found: Gathered, extractive: Answer, ranker: dict) -> Iterator[str | Answer]:
    """The model's reply as it streams (str pieces, a draft that is not checked), then the checked ``Answer``.

    An extractive refusal stays a refusal and the model is not asked."""
    if extractive.abstained:
        yield extractive
        return
    given = numbered(found, extractive, ranker, settings.llm_sentences)
    pieces = []
    try:
        for piece in stream_reply(settings, messages(found.question, found.history, given)):
            pieces.append(piece)
            yield piece
    except LLMError as err:
        yield replace(extractive, note=f"{err} at {settings.llm_url}; this is the extractive answer")
        return
    yield checked(extractive, given, "".join(pieces), settings.llm_refusal_below)


def generated(settings: Settings, found: Gathered, extractive: Answer, ranker: dict) -> Answer:
    """The checked answer of ``compose`` (what ``Engine.ask`` returns when an LLM is configured)."""
    last = extractive
    for item in compose(settings, found, extractive, ranker):
        last = item
    return last if isinstance(last, Answer) else extractive


def ask_stream(question: str, history: list[dict] | None = None, since: str | None = None,
               until: str | None = None, **overrides) -> Iterator[str | Answer]:
    """Like ``qa.ask()``, for a chat: the model's draft as str pieces while it writes (not checked: show it
    as a draft, as text), then the checked ``Answer`` to replace it. Without an LLM, only the ``Answer``."""
    engine = engine_for(Settings.from_env(**overrides))
    with dated(since, until):  # retrieval is all in gather: the range needs to hold only there
        found = engine.gather(question, history)
    extractive = engine.extractive(found)
    if not engine.settings.llm_url:
        yield extractive
        return
    yield from compose(engine.settings, found, extractive, engine.selector["ranker"])


__all__ = ["ask_stream", "compose", "generated", "checked", "messages", "numbered", "Numbered", "Claim"]

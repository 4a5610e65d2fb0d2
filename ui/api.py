"""An OpenAI-compatible chat endpoint (``POST /v1/chat/completions``, ``GET /v1/models``) and the bearer-token
gate for it and the MCP endpoint; routes for the FastAPI app Gradio runs, not a server of their own.

The last user message is the question and the messages before it the history; the reply is ``ask()``'s
answer with its numbered sources appended as text, plus the structured citations in a ``citations``
field. No answering logic lives here, and nothing of the request reaches a shell, a path or SQL.
"""
import hmac
import json
import time
import traceback
import uuid
from collections.abc import Iterator

from qa.answer import ask, source_line
from qa.errors import BadQuestionError, QAError
from qa.present import date_label, read_as_line, unsure_line
from qa.settings import Settings
from qa.types import Answer
from ui.tools import overrides

MODEL = "news-qa"
SOURCES = "\n\nSources:\n"
GATED = ("/v1/", "/gradio_api/mcp")  # what the bearer token guards (the page and /ask have Gradio's login)


def api_key(settings: Settings) -> str | None:
    """The bearer token /v1 and MCP require: ``QA_API_KEY``, else the password of ``QA_AUTH``, else none."""
    if settings.api_key:
        return settings.api_key
    return settings.auth.partition(":")[2] or None if settings.auth else None


def error(status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
    """An OpenAI-style error response carrying the project's ``message``."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


class BearerGate:
    """ASGI middleware: requests to /v1 and the MCP endpoint need ``Authorization: Bearer <key>``."""

    def __init__(self, app, key: str | None):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if self.key and scope["type"] == "http" and scope["path"].startswith(GATED):
            given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.key.encode()):
                await error(401, "a valid key is required: send `Authorization: Bearer <key>` (QA_API_KEY, "
                            "or the password of QA_AUTH)", code="invalid_api_key")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _text(content: object) -> str:
    """A message's content as text: a string, or the text parts of a list of content parts."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    if isinstance(content, str):
        return content
    raise BadQuestionError("a message's content must be text or a list of content parts")


def split_messages(messages: object) -> tuple[str, list[dict]]:
    """The question (the last user message) and the history before it, our appended sources cut off.

    >>> split_messages([{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "Kirby [1]\\n\\nSources:\\n[1] x"},
    ...                 {"role": "user", "content": "And he?"}])
    ('And he?', [{'role': 'user', 'content': 'Who?'}, {'role': 'assistant', 'content': 'Kirby [1]'}])
    """
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadQuestionError("messages must be a non-empty list of {'role': ..., 'content': ...} objects")
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    if not users:
        raise BadQuestionError("there is no user message: the last one is the question")
    history = [{"role": m["role"], "content": _text(m.get("content") or "")} for m in messages[:users[-1]]
               if m.get("role") in ("user", "assistant")]
    for m in history:
        if m["role"] == "assistant":
            m["content"] = m["content"].split(SOURCES)[0]
    return _text(messages[users[-1]].get("content")), history


def sources_text(answer: Answer) -> str:
    """The numbered sources, one line each (with each article's date), as appended to the answer."""
    lines = [source_line(c, date_label(c.date)) for c in answer.citations]  # as `qa ask` prints them
    return SOURCES + "\n".join(lines) if lines else ""


def _chunk(ident: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    body = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def stream(ident: str, created: int, content: str, extra: dict) -> Iterator[str]:
    """Server-sent events in OpenAI's chunk format: the role, the content in pieces, the end, [DONE]."""
    yield _chunk(ident, created, {"role": "assistant", "content": ""})
    words = content.split(" ")
    step = max(1, len(words) // 8)
    for i in range(0, len(words), step):
        piece = " ".join(words[i:i + step])
        yield _chunk(ident, created, {"content": piece if i == 0 else " " + piece})
    yield _chunk(ident, created, {}, "stop", **extra)
    yield "data: [DONE]\n\n"


def router(settings: Settings):
    """The /v1 routes for ``settings``, to hand to the FastAPI app (``app_kwargs={"routes": ...}``)."""
    from fastapi import APIRouter, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, StreamingResponse

    api = APIRouter()

    @api.get("/v1/models")
    def models():
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "news-qa"}]})

    @api.post("/v1/chat/completions")
    async def completions(request: Request):
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return error(400, "the request body is not JSON")
        if not isinstance(body, dict):
            return error(400, "the request body must be a JSON object with 'messages'")
        try:
            question, history = split_messages(body.get("messages"))
            answer = await run_in_threadpool(ask, question, history, **overrides(settings))
            data = answer.to_dict()  # each citation with its article's date
        except BadQuestionError as err:
            return error(400, str(err), code="bad_question")
        except QAError as err:
            return error(500, str(err), "server_error")
        except Exception:  # a bug: the reader gets an error object, the log the traceback
            traceback.print_exc()
            return error(500, "the server failed to answer; its log has the details", "server_error")
        hedge = "".join(f"{line}\n" for line in (read_as_line(answer), unsure_line(answer)) if line)
        content = hedge + answer.text + sources_text(answer)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        extra = {"citations": data["citations"], "abstained": answer.abstained, "unsure": answer.unsure}
        if body.get("stream"):
            return StreamingResponse(stream(ident, created, content, extra), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return JSONResponse({"id": ident, "object": "chat.completion", "created": created, "model": MODEL,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                          "finish_reason": "stop"}], **extra})

    return api

"""The chat page's link-preview metadata: Gradio's page template says "Gradio" / "Click to try out
the app!" and points previews at an image on github.com; this names the app instead.

An ASGI middleware over the page itself (GET /) only; it changes no other response and reads no file.
"""
from __future__ import annotations

import html
import re

_IMAGE = re.compile(r'\s*<meta\s+(?:property|name)="(?:og:image|twitter:image|twitter:creator)"[^>]*/?>', re.DOTALL)


def rewrite_meta(page: str, title: str, description: str) -> str:
    """``page`` with Gradio's preview title and description replaced and its remote preview image dropped.

    >>> rewrite_meta('<meta property="og:title" content="Gradio" /><meta property="og:description" '
    ...              'content="Click to try out the app!" /><meta property="og:image" content="https://x/y.jpg" />',
    ...              "News Q&A", "Ask the news")
    '<meta property="og:title" content="News Q&amp;A" /><meta property="og:description" content="Ask the news" />'
    """
    page = page.replace('content="Gradio"', f'content="{html.escape(title)}"')
    page = page.replace('content="Click to try out the app!"', f'content="{html.escape(description)}"')
    return _IMAGE.sub("", page)


class PageMeta:
    """ASGI middleware applying ``rewrite_meta`` to the page (an uncompressed HTML answer to GET /)."""

    def __init__(self, app, title: str, description: str):
        self.app, self.title, self.description = app, title, description

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def rewrite(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start.get("headers", [])]
            kinds = {k.lower(): v for k, v in headers}
            if b"text/html" in kinds.get(b"content-type", b"") and b"content-encoding" not in kinds:
                body = rewrite_meta(body.decode("utf-8"), self.title, self.description).encode("utf-8")
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)

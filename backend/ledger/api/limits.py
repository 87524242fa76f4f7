"""Request bounds enforced before any route runs: body size, and JSON nesting, numbers and encoding.

A pure ASGI middleware, so nothing in FastAPI or Starlette reads a byte it has not counted:
- a declared ``Content-Length`` over the limit is answered 413 without reading the body;
- uploads (multipart, ``text/csv``) stream through a counter that stops them at the upload limit
  (Starlette's ``max_part_size`` covers form fields, not files);
- every other body is read (up to the JSON limit), checked as UTF-8 and by ``jsonshape`` (depth,
  number length), then handed to the route, so the parser only ever sees bounded text.
"""

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from ledger.jsonshape import JsonLimits, JsonShapeError, check_json_text

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_STREAMED = ("multipart/form-data", "text/csv")
#: Room for multipart boundaries and the small fields beside the file.
_MULTIPART_SLACK = 1024 * 1024


@dataclass(frozen=True)
class BodyLimits:
    json_bytes: int
    upload_bytes: int
    json: JsonLimits = JsonLimits()


class _TooLarge(Exception):
    """The streamed body passed its limit (raised inside ``receive``, caught by the middleware)."""


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


class RequestLimits:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        ctype = headers.get("content-type", "").lower()
        streamed = ctype.startswith(_STREAMED)
        limit = self.limits.upload_bytes + _MULTIPART_SLACK if streamed else self.limits.json_bytes
        what = "an upload" if streamed else "a request body"
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _answer(send, 413, f"{what} may be at most {_mib(limit)}; this one declares {declared} bytes")
                return
        if streamed:
            await self._streamed(scope, receive, send, limit, what)
        else:
            await self._buffered(scope, receive, send, limit, what)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int, what: str) -> None:
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _answer(send, 413, f"{what} may be at most {_mib(limit)}; nothing was stored")

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, limit: int, what: str) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await _answer(send, 413, f"{what} may be at most {_mib(limit)}")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            try:
                body.decode("utf-8")
                check_json_text(body, self.limits.json)
            except UnicodeDecodeError:
                await _answer(send, 400, "the request body is not UTF-8 text (JSON must be UTF-8)")
                return
            except JsonShapeError as exc:
                await _answer(send, 422, str(exc))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _answer(send: Send, status: int, detail: str) -> None:
    content = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})

"""The request-body limit, enforced on the bytes that arrive, not on what the client declares.

The body is read here, up to the limit, before the application sees it (then handed on as it
came). A ``Content-Length`` over the limit, or a chunked upload that grows past it, gets a JSON
413. Before answering, the rest of the body is read and dropped (up to ``drain_bytes``): a client
that is still sending when the answer comes (Python's ``urllib`` and many others) would otherwise
hit a closed connection and never see the status. A body larger still gets its 413 and the
connection is closed.
"""

from __future__ import annotations

import json


class BodyLimit:
    """ASGI middleware: at most ``max_body`` bytes of request body per request."""

    def __init__(self, app, max_body: int, drain_bytes: int = 64 * 2**20) -> None:
        self.app, self.max_body, self.drain_bytes = app, max_body, drain_bytes

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            return await self._refuse(receive, send, f"the request body has {int(declared)} bytes", more=True)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its whole body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                return await self._refuse(receive, send, f"the request body has more than {self.max_body} bytes",
                                          more=more)
        body, handed = b"".join(chunks), False

        async def replay():
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)

    async def _refuse(self, receive, send, what: str, more: bool) -> None:
        """Read and drop the rest of the body (so the client reads the answer), then answer 413."""
        drained = 0
        while more and drained <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = json.dumps({"error": f"{what}; the limit is {self.max_body}: send fewer or shorter texts"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if more:  # still sending past what we are willing to read: close after answering
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

"""A tiny real HTTP server on 127.0.0.1 for fake platforms.

A fake platform is a plain Python object with a ``handle(request) -> Response`` method that
implements the platform's documented protocol. ``serve(fake)`` runs it on a free port in a
background thread; tests talk to it over real HTTP with the real adapter, and control it
(add or change orders, move its clock, force a rate limit) by calling the fake's methods.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        h = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status=status, body=body, headers=h)


class FakePlatform(Protocol):
    def handle(self, request: Request) -> Response: ...


class _Handler(BaseHTTPRequestHandler):
    fake: FakePlatform
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this each kept-alive request
    # waits ~40 ms for the peer's delayed ACK.
    disable_nagle_algorithm = True

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            resp = self.fake.handle(req)
        except Exception as exc:  # a bug in a fake must show up as a 500, not a hang
            resp = Response.json({"error": f"fake server error: {exc!r}"}, status=500)
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(fake: FakePlatform) -> Iterator[str]:
    """Serve ``fake`` on 127.0.0.1 and yield its base URL (``http://127.0.0.1:PORT``)."""
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

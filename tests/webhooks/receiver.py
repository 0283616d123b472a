"""A webhook receiver on 127.0.0.1 that checks signatures the way docs/webhooks.md tells
integrators to, and answers with scripted status codes."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from lvyue.webhooks import signing
from tests.channels.fakes.server import Request, Response


@dataclass
class Receiver:
    secrets: dict[str, str] = field(default_factory=dict)  # path -> subscription's secret
    script: deque[int] = field(default_factory=deque)  # statuses to answer, then 200
    received: list[Request] = field(default_factory=list)  # signed correctly
    rejected: int = 0  # bad or missing signature
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        h = request.headers
        good = signing.verify(
            self.secrets.get(request.path, ""),
            h.get("x-lvyue-timestamp", ""),
            request.body,
            h.get("x-lvyue-signature", ""),
            now=int(time.time()),
        )
        with self.lock:
            if not good:
                self.rejected += 1
                return Response(status=401)
            self.received.append(request)
            return Response(status=self.script.popleft() if self.script else 200)

    def types(self) -> list[str]:
        return [r.json()["type"] for r in self.received]

"""A stand-in OpenAI-compatible `/v1/embeddings` server (what SGLang or TEI serve), for tests.

Deterministic vectors: each text becomes a hashed bag of its characters, so equal texts get
equal vectors. `fail_with` makes the next requests answer that HTTP status; `requests` records
each request body.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class EmbeddingsStandIn:
    """A real HTTP server on 127.0.0.1 answering POST /v1/embeddings."""

    def __init__(self, *, dim: int = 16, model: str = "bge-m3-standin") -> None:
        self.dim = dim
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                stand_in.requests.append(body)
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": "not found"})
                elif stand_in.fail_with:
                    self._send(stand_in.fail_with, {"error": {"message": "scripted failure"}})
                else:
                    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    data = [
                        {"object": "embedding", "index": i, "embedding": stand_in.vector(t)}
                        for i, t in enumerate(texts)
                    ]
                    self._send(200, {"object": "list", "data": data, "model": body.get("model")})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (…/v1)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def vector(self, text: str) -> list[float]:
        """The (unnormalised) vector this server returns for `text`."""
        out = [0.0] * self.dim
        for char in text:
            out[hashlib.blake2b(char.encode(), digest_size=2).digest()[0] % self.dim] += 1.0
        return out

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

"""A TTS service over HTTP: the harness's pipeline served on 127.0.0.1, and the client that loads any
service (the team's deployed backend included) as a black box.

Protocol of the bundled server: ``POST /tts`` with a JSON body ``{"text": "..."}``; the answer is
``200`` with ``audio/L16`` (16-bit little-endian mono PCM, the rate in ``X-Sample-Rate``), sent in
HTTP chunks as the audio is made; a bad body is ``400``, a failed synthesis ``500``, both with a
JSON ``{"error": ...}``. ``GET /health`` answers ``ok``.

The client sends a body made from a JSON template (every string value's ``{text}`` and ``{id}``
replaced, then serialized: no text can break the JSON), and reads the answer streamed (each read
from the socket is a hand-over, timed as it arrives) or whole (one hand-over at the end). A status
other than 200, a connection closed mid-answer, a timeout: the request's error, counted, never hidden.
"""

from __future__ import annotations

import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from harness.config import MAX_TEXT_CHARS
from harness.errors import InputError, redact
from harness.serving.service import ChunkFn, Request, Service, StartFn

MAX_BODY_BYTES = 100_000
LOOPBACK = "127.0.0.1"
PLACEHOLDER = re.compile(r"\{text\}|\{id\}")


class ServiceError(Exception):
    """The service answered, with something other than 200."""


def pcm16(samples: np.ndarray) -> bytes:
    data: bytes = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return data


def serve_http(service: Service, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (``port`` 0: any free port) answering from ``service``; call
    ``serve_forever`` (or run it in a thread) and ``shutdown`` to stop."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # requests are results of the client, not lines on the server's console

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._json(200, {"status": "ok"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path != "/tts":
                self._json(404, {"error": "not found"})
                return
            try:
                size = int(self.headers.get("Content-Length", "0"))
                if not 0 < size <= MAX_BODY_BYTES:
                    raise ValueError(f"body must be 1-{MAX_BODY_BYTES} bytes")
                body = json.loads(self.rfile.read(size))
                text = body.get("text") if isinstance(body, dict) else None
                if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                    raise ValueError(f'want {{"text": "..."}} with 1-{MAX_TEXT_CHARS} characters')
            except (ValueError, UnicodeDecodeError) as exc:
                self._json(400, {"error": str(exc)[:200]})
                return
            started = False

            def send(samples: np.ndarray) -> None:
                nonlocal started
                if not started:
                    self.send_response(200)
                    self.send_header("Content-Type", f"audio/L16; rate={service.sample_rate}; channels=1")
                    self.send_header("X-Sample-Rate", str(service.sample_rate))
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    started = True
                data = pcm16(samples)
                if data:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()

            try:
                service.handle(Request(0, text, "http", 0.0), send)
            except Exception as exc:
                if not started:
                    self._json(500, {"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
                else:
                    self.close_connection = True  # no terminating chunk: the client sees a cut answer
                return
            if not started:
                send(np.zeros(0, dtype=np.float32))
            self.wfile.write(b"0\r\n\r\n")

    return ThreadingHTTPServer((LOOPBACK, port), Handler)


def fill(template: Any, text: str, text_id: str) -> Any:
    """The template with ``{text}`` and ``{id}`` replaced inside every string value."""
    if isinstance(template, str):  # one pass: a "{id}" inside the text stays as it is
        return PLACEHOLDER.sub(lambda m: text if m.group(0) == "{text}" else text_id, template)
    if isinstance(template, list):
        return [fill(item, text, text_id) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, text, text_id) for key, value in template.items()}
    return template


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url!r:.80}")
    return url


def shown_url(url: str) -> str:
    """The URL without credentials or query (what logs and results may show)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


class HttpService:
    """A running TTS service as the load's service; ``sample_rate`` from ``X-Sample-Rate`` (or
    ``rate=`` in an ``audio/L16`` type), else the one given; WAV answers are decoded whole."""

    def __init__(
        self, url: str, template: Any, stream: bool, concurrency: int, sample_rate: int = 24_000,
        timeout_s: float = 30.0,
    ) -> None:  # fmt: skip
        import httpx

        self.url = check_url(url)
        self.template = template
        self.stream = stream
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s), limits=limits)

    def _rate(self, headers: Any) -> int:
        given = headers.get("x-sample-rate")
        kind = headers.get("content-type", "")
        if not given and "rate=" in kind:
            given = kind.split("rate=")[1].split(";")[0]
        if given and given.strip().isdigit():
            with self._lock:
                self.sample_rate = int(given)
        return self.sample_rate

    def handle(self, request: Request, on_chunk: ChunkFn, on_start: StartFn | None = None) -> None:
        """(A black box: its queueing cannot be told from its computing, so ``on_start`` is never
        called and a request's start is when it was sent.)"""
        import httpx

        body = fill(self.template, request.text, request.text_id)
        try:
            with self.client.stream("POST", self.url, json=body) as answer:
                if answer.status_code != 200:
                    detail = answer.read()[:200].decode("utf-8", "replace").strip()
                    raise ServiceError(f"HTTP {answer.status_code}: {detail}")
                self._rate(answer.headers)
                if "wav" in answer.headers.get("content-type", ""):
                    import soundfile

                    samples, _ = soundfile.read(io.BytesIO(answer.read()), dtype="float32", always_2d=True)
                    on_chunk(samples[:, 0])
                    return
                odd = b""
                pieces = answer.iter_raw() if self.stream else iter([answer.read()])
                for data in pieces:
                    data, odd = odd + data, b""
                    if len(data) % 2:
                        data, odd = data[:-1], data[-1:]
                    if data:
                        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32767
                        on_chunk(samples)
        except httpx.HTTPError as exc:
            raise ConnectionError(redact(f"{type(exc).__name__}: {exc}")) from None

    def close(self) -> None:
        self.client.close()

"""HTTP: the harness's pipeline served on 127.0.0.1 by `tts-harness serve` (a real process) and
loaded by `tts-harness load` (httpx); servers that are slow, cut answers or fail: every request's
error counted, none hidden, the load bounded."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from harness.serving.arrivals import Arrival
from harness.serving.http import HttpService, fill, serve_http, shown_url
from harness.serving.load import LoadOptions, run_load, summarize
from harness.serving.service import BatchOptions, PipelineService, StreamOptions
from tests.test_cli import cli

ROOT = Path(__file__).resolve().parents[1]


def test_the_template_fills_strings_only_and_survives_any_text() -> None:
    text = 'He said "hi" \\ {id} 😂'
    body = fill({"input": {"text": "{text}", "n": 3}, "voice": ["{id}"]}, text, "c1")
    assert json.loads(json.dumps(body)) == {"input": {"text": text, "n": 3}, "voice": ["c1"]}
    assert shown_url("https://user:secret@tts.example:8443/v1/tts?key=abc") == "https://tts.example:8443/v1/tts"


def speaking_service() -> PipelineService:
    def speak(texts: list[str]) -> list[np.ndarray]:
        time.sleep(0.02)
        return [np.full(240 * len(t), 0.1, np.float32) for t in texts]

    return PipelineService(speak, 24_000, StreamOptions(True, 10, 40, 0.0), BatchOptions(2, 5.0))


@pytest.fixture
def harness_server() -> Iterator[str]:
    service = speaking_service()
    server = serve_http(service, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tts"
    server.shutdown()
    server.server_close()
    service.close()


def test_streamed_answers_arrive_in_chunks_with_their_audio(harness_server: str) -> None:
    client = HttpService(harness_server, {"text": "{text}"}, stream=True, concurrency=2)
    try:
        arrivals = [Arrival(0.0, "Hello chat, here is a longer sentence. And more.", "a"), Arrival(0.05, "GG", "b")]
        records = run_load(client, arrivals, LoadOptions(concurrency=2))
    finally:
        client.close()
    assert [r.status for r in records] == ["ok", "ok"]
    assert len(records[0].chunks) >= 2  # streamed: the first chunk before the rest was made
    audio = sum(s for _, s in records[0].chunks)
    assert audio == pytest.approx(0.01 * len("Hello chat, here is a longer sentence. And more.") - 0.01, abs=0.03)


def test_bad_bodies_are_400_and_unknown_paths_404(harness_server: str) -> None:
    import httpx

    assert httpx.post(harness_server, json={"text": ""}).status_code == 400
    assert httpx.post(harness_server, content=b"not json").status_code == 400
    assert httpx.post(harness_server.replace("/tts", "/x"), json={"text": "a"}).status_code == 404
    assert httpx.get(harness_server.replace("/tts", "/health")).json() == {"status": "ok"}


def faulty(behaviour: Callable[[BaseHTTPRequestHandler], None]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            behaviour(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fails(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(500)
    handler.send_header("Content-Length", "5")
    handler.end_headers()
    handler.wfile.write(b"boom!")


def cuts(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    handler.wfile.write(b"10\r\n" + b"\x00" * 16 + b"\r\n")
    handler.wfile.flush()
    handler.close_connection = True  # closed mid-stream: no terminating chunk


def stalls(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(3)


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [(fails, "HTTP 500: boom!"), (cuts, "RemoteProtocolError"), (stalls, "ReadTimeout")],
)
def test_a_failing_server_is_counted_request_by_request(behaviour: Callable[..., None], error: str) -> None:
    server = faulty(behaviour)
    client = HttpService(f"http://127.0.0.1:{server.server_address[1]}/tts", {"text": "{text}"}, True, 2, timeout_s=0.5)
    try:
        began = time.perf_counter()
        records = run_load(client, [Arrival(0, "a", "a"), Arrival(0.01, "b", "b")], LoadOptions(concurrency=2))
        assert time.perf_counter() - began < 2.5
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    summary = summarize(records)
    assert summary["counts"]["error"] == 2 and summary["error_rate"] == 1.0
    assert all(error in r.error for r in records), [r.error for r in records]


def test_an_interrupted_load_keeps_its_requests_and_the_next_load_keeps_it(tmp_path: Path) -> None:
    """SIGINT mid-load: exit 130, the requests so far in results.json (interrupted); a new load into
    the same folder moves it to previous/ instead of overwriting it."""
    import signal

    reached = threading.Event()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        reached.set()
        time.sleep(0.2)
        fails(handler)

    server = faulty(slow)
    url = f"http://127.0.0.1:{server.server_address[1]}/tts"
    out = tmp_path / "out"
    try:
        command = [sys.executable, "-m", "harness", "load", url, "--rate", "5", "--requests", "400", "--out", str(out),
                   "--no-progress"]  # fmt: skip
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        assert reached.wait(timeout=60), "the load never reached the server"
        time.sleep(1.0)  # about a second of requests
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # what it said before hanging, for the report
            proc.kill()
            pytest.fail(f"the load did not stop within 120 s of SIGINT: {proc.communicate()[1][-2000:]}")
        assert proc.returncode == 130 and "the requests so far are kept" in err, err
        first = json.loads((out / "results.json").read_text())
        assert first["status"] == "interrupted"
        requests = first["records"][0]["scenario"]["requests"]
        assert len(requests) == 400 and sum(r["status"] == "error" for r in requests) >= 1
        again = cli("load", url, "--requests", "2", "--out", str(out), cwd=tmp_path)
        assert again.returncode == 0, again.stderr  # every request failed with HTTP 500: counted, not an error
        kept = list((out / "previous").glob("*/results.json"))
        assert len(kept) == 1 and json.loads(kept[0].read_text())["status"] == "interrupted"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_serve_and_load_through_the_command_line(write_suite: Callable[..., Path], tmp_path: Path) -> None:
    """`tts-harness serve` (the tiny pipeline, streamed, batcher of 2) in its own process, loaded by
    `tts-harness load` with a trace; the SLO search, results.json and the curve written."""
    suite = write_suite(name="serve", nfe="[1]", matrix="stream = true\nmax_batch = 2")
    server = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", str(suite), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        line = server.stdout.readline() if server.stdout else ""
        url = re.search(r"http://127\.0\.0\.1:\d+/tts", line)
        assert url, line + (server.stderr.read() if server.stderr and server.poll() is not None else "")
        trace = ROOT / "suites" / "traces" / "live-chat.jsonl"
        out = tmp_path / "load"
        search = ["--slo", "ttfa_p99_s=60", "--search", "0.5:1", "--steps", "1"]
        proc = cli("load", url.group(0), "--trace", str(trace), "--requests", "6", "--concurrency", "2", *search,
                   "--out", str(out), cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results = json.loads((out / "results.json").read_text())
        load = results["records"][0]["scenario"]
        assert load["summary"]["counts"]["ok"] == 6 and load["slo_misses"] == []
        assert load["search"]["sustainable_rate_per_s"] == 1.0 and (out / "load_curve.png").stat().st_size > 1000
        missed = cli("load", url.group(0), "--text", "Hi!", "--requests", "2", "--slo", "ttfa_p50_s=0",
                     "--out", str(tmp_path / "strict"), cwd=tmp_path)  # fmt: skip
        assert missed.returncode == 1 and "SLO missed: ttfa_p50_s" in missed.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/tts", "--requests", "2"], "no request reached http://127.0.0.1:1/tts"),
        (["ftp://x/tts"], "not an http(s) URL"),
        (["http://127.0.0.1:1/tts", "--rate", "0"], "positive number"),
        (["http://127.0.0.1:1/tts", "--text", " "], "--text is empty"),
        (["http://127.0.0.1:1/tts", "--slo", "ttfa_p98_s=1"], "unknown metric"),
        (["http://127.0.0.1:1/tts", "--search", "1:4"], "--search needs --slo"),
        (["http://127.0.0.1:1/tts", "--slo", "drop_rate=0", "--search", "4:1"], "0 < START <= MAX"),
        (["http://127.0.0.1:1/tts", "--body", "{"], "--body is not JSON"),
        (["http://127.0.0.1:1/tts", "--requests", "0"], "--requests must be >= 1"),
        (["http://127.0.0.1:1/tts", "--timeout", "0"], "--timeout must be > 0"),
        (["http://127.0.0.1:1/tts", "--concurrency", "0"], "concurrency must be between 1"),
        (["http://127.0.0.1:1/tts", "--trace", "unsorted.jsonl"], "line 2: time 1 is before the previous"),
        (["http://127.0.0.1:1/tts", "--trace", "missing.jsonl"], "trace missing.jsonl"),
    ],
)
def test_bad_load_input_is_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "unsorted.jsonl").write_text('{"t": 2, "text": "a"}\n{"t": 1, "text": "b"}\n')
    proc = cli("load", *args, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr

"""``tts-harness serve`` (a suite's configuration over HTTP on 127.0.0.1) and ``tts-harness load``
(open-loop arrivals against any TTS service's URL, results.json and summary.md in ``--out``)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, GateFailure, InputError
from harness.options import add_narrowing, narrowed_suite
from harness.serving.arrivals import Arrival, schedule
from harness.serving.load import LoadInterrupted, LoadOptions, RequestRecord, records_json, run_load, summarize
from harness.serving.slo import SLO, search


def cmd_serve(args: argparse.Namespace) -> int:
    from harness.measure import ready_measurer
    from harness.pipeline.synth import Synthesizer
    from harness.serving.http import serve_http
    from harness.serving.scenario import pipeline_speaker
    from harness.serving.service import BatchOptions, PipelineService

    suite = narrowed_suite(args)
    run = suite.runs[0]
    measurer = ready_measurer(suite)
    synth = measurer.synthesizer(run)
    if not isinstance(synth, Synthesizer):
        raise ConfigError("serve batches different texts: the stock pipeline cannot")
    speak = pipeline_speaker(synth, run, suite.texts[0])
    speak([suite.texts[0].text])  # the first call (and any compile) before the first request
    stream = suite.serving.stream_options(run.stream)
    service = PipelineService(speak, synth.sample_rate, stream, BatchOptions(run.max_batch, suite.serving.max_wait_ms))
    server = serve_http(service, args.port)
    print(f"serving {run.id} at http://127.0.0.1:{server.server_address[1]}/tts (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # a server stopped on purpose: not a failure
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
        service.close()
    return 0


def _slo(text: str | None) -> SLO | None:
    """``ttfa_p99_s=1,drop_rate=0.01`` as an SLO."""
    if not text:
        return None
    ceilings: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            ceilings[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--slo wants METRIC=VALUE[,METRIC=VALUE], got {item!r:.60}") from None
        if not sep or not math.isfinite(ceilings[name.strip()]):
            raise InputError(f"--slo wants METRIC=VALUE[,METRIC=VALUE], got {item!r:.60}")
    try:
        return SLO(ceilings)
    except ConfigError as exc:
        raise InputError(f"--slo: {exc}") from None


def _search_bounds(text: str) -> tuple[float, float]:
    start, _, top = text.partition(":")
    try:
        low, high = float(start), float(top)
    except ValueError:
        raise InputError(f"--search wants START:MAX requests per second, got {text!r:.40}") from None
    if not 0 < low <= high < math.inf:
        raise InputError(f"--search wants 0 < START <= MAX, got {text!r:.40}")
    return low, high


def _schedule(args: argparse.Namespace, rate: float | None) -> list[Arrival]:
    """One load's arrivals from the options (``rate``: a search's)."""
    if args.requests < 1:
        raise InputError(f"--requests must be >= 1, got {args.requests}")
    texts: list[tuple[str, str]] = []  # a trace says what is spoken
    if args.texts_from:
        from harness.textsets import load_test_set, test_set_path

        texts = [(t.id, t.text) for t in load_test_set(test_set_path(args.texts_from, Path("suites") / "x.toml"))]
    elif not args.trace:
        texts = [(f"text{i}", text) for i, text in enumerate(args.text or ["Thanks for the stream, see you tomorrow!"])]
        if any(not text.strip() for _, text in texts):
            raise InputError("--text is empty")
    trace = Path(args.trace) if args.trace else None
    return schedule(trace, args.arrivals, args.rate, args.requests, args.seed, texts, args.burstiness, rate)


def cmd_load(args: argparse.Namespace) -> int:
    from harness.journal import folder_lock, keep_earlier
    from harness.results import Record, Results
    from harness.serving.http import HttpService, shown_url
    from harness.serving.report import load_rows, plot_curves

    try:
        template = json.loads(args.body)
    except json.JSONDecodeError as exc:
        raise InputError(f"--body is not JSON: {exc.msg}") from None
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise InputError(f"--timeout must be > 0 seconds, got {args.timeout}")
    slo = _slo(args.slo)
    if args.search and slo is None:
        raise InputError("--search needs --slo (what the rate must meet)")
    options = LoadOptions(concurrency=args.concurrency, max_age_s=args.max_age, max_seconds=args.max_seconds)
    bounds = _search_bounds(args.search) if args.search else None
    _schedule(args, None)  # a bad trace or text is one line before anything is sent
    service = HttpService(args.url, template, not args.whole, args.concurrency, args.sample_rate, args.timeout)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    load: dict[str, Any] = {"kind": "load", "url": shown_url(args.url), "stream": not args.whole,
                            "concurrency": args.concurrency, "max_age_s": args.max_age}  # fmt: skip

    def loaded(rate: float | None) -> list[RequestRecord]:
        """One load, with a progress bar of requests finished (unless --no-progress)."""
        arrivals = _schedule(args, rate)
        if args.no_progress:
            return run_load(service, arrivals, options)
        from tqdm import tqdm

        label = f"load at {rate:.3g} req/s" if rate else "load"
        with tqdm(total=len(arrivals), desc=label, unit="req", file=sys.stderr, leave=False) as bar:
            return run_load(service, arrivals, options, on_done=lambda _: bar.update())

    with folder_lock(out):
        keep_earlier(out, resumable=False)  # a load already there moves to previous/, whole
        status = "complete"
        try:
            if bounds and slo:
                load["search"] = search(lambda rate: summarize(loaded(rate)), slo, *bounds, args.steps)
            records = loaded(None)
        except LoadInterrupted as stop:  # the load in progress is kept, marked interrupted
            records, status = stop.records, "interrupted"
        finally:
            service.close()
        load["summary"] = summarize(records)
        load["requests"] = records_json(records)
        if slo is not None:
            load["slo"] = slo.ceilings
            load["slo_misses"] = slo.misses(load["summary"])
        results = Results(
            suite={"name": "load", "url": load["url"]},
            records=[Record(id="load", config={"url": load["url"]}, scenario=load)],
            status=status,
        )
        results.save(out)
    if status == "interrupted":
        print(f"interrupted: the requests so far are kept in {out / 'results.json'}", file=sys.stderr)
        raise KeyboardInterrupt
    plot = plot_curves([("load", load)], out / "load_curve.png")
    summary = "\n".join(
        [f"# Load of {load['url']}", "", f"measured {results.created_utc}", "", load_rows([("load", load)])]
    )
    (out / "summary.md").write_text(summary)
    print(load_rows([("load", load)]))
    print(f"results: {out / 'results.json'}" + (f"; curve: {plot}" if plot else ""))
    counts = load["summary"]["counts"]
    unreachable = [r for r in records if "ConnectError" in r.error]  # httpx could not open a connection
    if counts["ok"] == 0 and counts["error"] and len(unreachable) == counts["error"]:
        raise InputError(f"no request reached {load['url']}: {records[0].error}")
    if load.get("slo_misses"):
        raise GateFailure(f"SLO missed: {'; '.join(load['slo_misses'])}")
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve a suite's configuration over HTTP on 127.0.0.1 (POST /tts)")
    serve.add_argument("suite", help="suite TOML file or name; its first configuration (after narrowing) is served")
    serve.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free one; default 8000)")
    add_narrowing(serve)
    serve.set_defaults(func=cmd_serve)

    load = sub.add_parser("load", help="drive a running TTS service with open-loop arrivals (results.json)")
    load.add_argument("url", help="the service's endpoint, e.g. http://127.0.0.1:8000/tts")
    what = load.add_mutually_exclusive_group()
    what.add_argument("--trace", help='JSON Lines file of {"t": s, "text": ...} replayed in real time')
    what.add_argument("--texts-from", help="a test set (e.g. live-stream) spoken in turn")
    what.add_argument("--text", action="append", help="a text to speak (repeatable)")
    load.add_argument(
        "--arrivals", choices=("poisson", "gamma"), default="poisson", help="drawn arrivals (default poisson)"
    )
    load.add_argument(
        "--rate", type=float, default=1.0, help="requests per second (a trace: rescaled to it only in --search)"
    )
    load.add_argument("--burstiness", type=float, default=1.0, help="gamma arrivals: 1 is Poisson, larger is burstier")
    load.add_argument("--requests", type=int, default=50, help="requests per load (a trace: its first N; default 50)")
    load.add_argument("--seed", type=int, default=0, help="seed of the drawn arrivals")
    load.add_argument("--concurrency", type=int, default=4, help="requests in flight at most (default 4)")
    load.add_argument("--max-age", type=float, help="drop a request that waited longer than S seconds to be sent")
    load.add_argument("--whole", action="store_true", help="read each answer whole (default: streamed, timed per read)")
    load.add_argument("--body", default='{"text": "{text}"}', help='JSON template; "{text}" and "{id}" are filled in')
    load.add_argument("--sample-rate", type=int, default=24_000, help="PCM rate when the answer does not say it")
    load.add_argument("--timeout", type=float, default=30.0, help="seconds a request may wait on the network")
    load.add_argument("--max-seconds", type=float, default=600.0, help="bound of each load (default 600 s)")
    load.add_argument("--slo", help="ceilings, e.g. ttfa_p99_s=1,drop_rate=0.01 (exit 1 when missed)")
    load.add_argument("--search", metavar="START:MAX", help="find the highest rate meeting --slo, START to MAX req/s")
    load.add_argument("--steps", type=int, default=3, help="bisection steps of --search (default 3)")
    load.add_argument("--out", default="reports/runs/load", help="results folder (default reports/runs/load)")
    load.add_argument("--no-progress", action="store_true", help="no progress bar")
    load.set_defaults(func=cmd_load)

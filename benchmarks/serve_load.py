"""Load test of ``bertclf serve``: requests/s and p50/p95/p99 latency, loopback only.

    python -m benchmarks.serve_load                          # torch and onnx, fp32 and int8
    python -m benchmarks.serve_load --smoke                  # a tiny run, to check that it works
    python -m benchmarks.serve_load --backends onnx --no-int8 --clients 1 32

For each backend and precision the service runs twice in its own process (``bertclf serve``,
``--threads`` model threads): with micro-batching (``--max-batch 32`` and the service's default
``--max-wait-ms``) and one request at a time (``--max-batch 1``).
Closed-loop clients (1, 8, 32 at once; each sends one test tweet, waits for the answer, sends
the next) send ``--requests`` requests per level, or stop after ``--seconds``. The clients run
in this process, on the same cores as the service, with ``aiohttp``: it spends 0.5-0.8 ms of
CPU per request where ``httpx`` spent 3.5-8 ms here, CPU the service's model threads would lose.
The run is the one ``benchmarks.predict`` uses (trained there if missing); ONNX graphs are
exported if missing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import numpy as np

from benchmarks import common
from bertclf import data
from bertclf.serve.batcher import MAX_WAIT_MS
from bertclf.serve.local import LocalService

SMOKE = {"clients": [1, 4], "requests": 16, "seconds": 10.0}


def parse_args(argv: list[str] | None) -> common.Bench:
    p = common.parser("benchmarks.serve_load", __doc__, eval_help="test tweets the requests draw from", cpu_only=True)
    p.add_argument("--run-dir", type=Path, help="a fine-tuned bertclf run (default: benchmarks.train's, trained if missing)")
    p.add_argument("--backends", nargs="+", default=["torch", "onnx"], choices=["torch", "onnx"])
    p.add_argument("--no-int8", action="store_true", help="fp32 only")
    p.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32], help="concurrent clients per level")
    p.add_argument("--requests", type=int, default=1024, help="requests per level (after a warm-up)")
    p.add_argument("--seconds", type=float, default=60.0, help="time limit per level")
    p.add_argument("--max-wait-ms", type=float, default=MAX_WAIT_MS,
                   help="the batched service's wait under load for the clients its last batch answered")
    p.add_argument("--give-up-ms", type=float, default=50.0,
                   help="the abandoning clients' patience: they disconnect after this long without an answer")
    p.set_defaults(threads=os.cpu_count())  # the service's model threads
    argv = sys.argv[1:] if argv is None else list(argv)
    bench = common.begin("serve_load", p, argv, full=p.parse_args(argv).requests >= 1024)
    if bench.args.smoke:
        for name, value in SMOKE.items():
            setattr(bench.args, name, value)
    return bench


def stats(url: str) -> dict:
    """The service's counts of batches and texts (``GET /health``)."""
    return httpx.get(f"{url}/health", timeout=10).json()


async def abandon_level(url: str, texts: list[str], clients: int, requests: int, give_up_ms: float) -> dict:
    """``clients`` closed-loop clients that each disconnect when an answer takes over ``give_up_ms``."""
    counts = {"sent": 0, "answered": 0, "abandoned": 0}
    patience = aiohttp.ClientTimeout(total=give_up_ms / 1000)

    async def client(http: aiohttp.ClientSession) -> None:
        while counts["sent"] < requests:
            counts["sent"] += 1
            try:
                async with http.post(f"{url}/predict", json={"text": texts[counts["sent"] % len(texts)]},
                                     timeout=patience) as answer:
                    await answer.read()
                    counts["answered"] += answer.status == 200
            except TimeoutError:  # aiohttp closes the connection: the service sees the client leave
                counts["abandoned"] += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    await asyncio.sleep(1.0)  # let the service see the last disconnects before its counts are read
    return counts


async def load_level(url: str, texts: list[str], clients: int, requests: int, seconds: float) -> dict:
    """``clients`` closed-loop clients share ``requests`` requests (or stop at ``seconds``)."""
    latencies, errors, sent = [], 0, 0
    stop_at = time.perf_counter() + seconds

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal errors, sent
        while sent < requests and time.perf_counter() < stop_at:
            text = texts[sent % len(texts)]
            sent += 1
            start = time.perf_counter()
            async with http.post(f"{url}/predict", json={"text": text}) as answer:
                await answer.read()
                ok = answer.status == 200
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "clients": clients, "requests": len(latencies), "errors": errors, "seconds": elapsed,
        "requests_per_second": len(latencies) / elapsed,
        **{f"latency_p{q}_ms": float(np.percentile(ms, q)) if len(ms) else None for q in (50, 95, 99)},
    }


def batching_ceiling(run_dir: Path, backend: str, int8: bool, texts: list[str], threads: int) -> dict:
    """The most micro-batching can gain, measured on the model alone (no HTTP, no clients): ms per
    text one at a time vs in length-sorted batches of 32 (no padding to speak of), same threads."""
    import torch

    from bertclf.serve.classifier import Classifier

    torch.set_num_threads(threads)
    clf = Classifier.load(run_dir, backend=backend, quantize=int8)
    clf.predict(texts[:32])  # warm up
    start = time.perf_counter()
    for text in texts:
        clf.predict([text])
    single = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    clf.predict(texts, batch_size=32)
    batched = (time.perf_counter() - start) / len(texts)
    return {"one_at_a_time_ms": 1000 * single, "sorted_batches_ms": 1000 * batched, "ceiling": single / batched}


def main(argv: list[str] | None = None) -> dict:
    bench = parse_args(argv)
    args = bench.args
    batching = {"batched": ["--max-batch", "32", "--max-wait-ms", str(args.max_wait_ms)],
                "one_at_a_time": ["--max-batch", "1"]}
    run_dir = common.ensure_run(bench, args.run_dir)
    texts = list(data.load("tweets", seed=args.seed, train_size=args.train_size, eval_size=args.eval_size)["test"]["text"])
    precisions = [False] if args.no_int8 else [False, True]
    if "onnx" in args.backends:
        common.ensure_onnx(bench, run_dir, int8=True in precisions)

    runs = {}
    for backend in args.backends:
        for int8 in precisions:
            for mode, flags in batching.items():
                label = f"{backend} {'int8' if int8 else 'fp32'}, {mode.replace('_', ' ')}"
                options = ["--backend", backend, "--threads", args.threads, "--max-queue", 4096,
                           *(["--quantize"] if int8 else []), *flags]
                with LocalService(run_dir, *options, quiet=True) as service:
                    asyncio.run(load_level(service.url, texts, 4, 32, args.seconds))  # warm-up
                    for clients in args.clients:
                        before = stats(service.url)
                        level = asyncio.run(load_level(service.url, texts, clients, args.requests, args.seconds))
                        after = stats(service.url)
                        batches = after["batches"] - before["batches"]
                        level["mean_batch"] = (after["texts"] - before["texts"]) / batches if batches else None
                        runs[f"{backend}_{'int8' if int8 else 'fp32'}_{mode}_c{clients}"] = {"label": label, **level}
                        bench.say(f"{label}, {clients} clients: {level['requests_per_second']:.1f} req/s, "
                                  f"p99 {level['latency_p99_ms']:.1f} ms")

    targets, model_alone = [], {}
    for backend in args.backends:
        for int8 in precisions:
            key = f"{backend}_{'int8' if int8 else 'fp32'}"
            ceiling = batching_ceiling(run_dir, backend, int8, texts[:256], args.threads)
            model_alone[key] = ceiling
            bench.say(f"{key}: model alone {ceiling['one_at_a_time_ms']:.2f} ms/text one at a time, "
                      f"{ceiling['sorted_batches_ms']:.2f} in sorted batches of 32: ceiling {ceiling['ceiling']:.2f}×")
            for clients in [c for c in args.clients if c > 1]:
                batched, single = runs[f"{key}_batched_c{clients}"], runs[f"{key}_one_at_a_time_c{clients}"]
                ratio = batched["requests_per_second"] / single["requests_per_second"]
                required = 1.6 if key == "torch_fp32" and clients >= 32 else 1.0
                targets.append(common.target(
                    f"{key.replace('_', ' ')}: micro-batching vs one at a time, {clients} clients", f"≥ {required:.2f}×",
                    ratio, ratio >= required,
                    note=(f"p99 {batched['latency_p99_ms']:.0f} ms batched vs {single['latency_p99_ms']:.0f} ms one at a "
                          f"time; the model alone gains at most {ceiling['ceiling']:.2f}× from batches of 32")))
    if "torch" in args.backends:  # clients that give up: the service should do no work for them
        options = ["--backend", "torch", "--threads", args.threads, "--max-queue", 4096, *batching["batched"]]
        with LocalService(run_dir, *options, quiet=True) as service:
            before = stats(service.url)
            gave_up = asyncio.run(abandon_level(service.url, texts, max(args.clients), args.requests, args.give_up_ms))
            after = stats(service.url)
        computed = after["texts"] - before["texts"]
        gave_up.update(dropped_by_service=after["dropped_requests"] - before["dropped_requests"], texts_computed=computed,
                       computed_for_abandoned=computed - gave_up["answered"])
        runs["torch_fp32_abandoning"] = {"label": f"torch fp32, clients give up after {args.give_up_ms:g} ms", **gave_up}
        bench.say(f"abandoning clients: {gave_up} (a request abandoned after its batch started is computed anyway)")
    return common.finish(
        bench, f"Service load: {common.model_tag(args.model)} behind bertclf serve, loopback",
        {"run_dir": str(run_dir), "requests_per_level": args.requests, "seconds_per_level": args.seconds,
         "batched": " ".join(batching["batched"]), "texts": len(texts)},
        runs, targets,
        [
            "Closed loop: each client sends one text, waits for the answer, sends the next; requests/s over "
            "the level's wall time; latency from sending to the full answer, answered (200) requests only.",
            "The clients (aiohttp) run in the benchmark's process on the same cores as the service.",
            "Model alone: the ceiling on what micro-batching can gain, measured in this process with the "
            "service's threads on 256 test tweets: ms per text one at a time vs in length-sorted batches of 32.",
        ],
        model_alone=model_alone,
    )


if __name__ == "__main__":
    main()

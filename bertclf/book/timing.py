"""Timing helpers for the chapters' small measurements: CPU time on one thread, forward passes
per text, the size of saved weights. Timings are printed as information, never asserted."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def best_cpu_time(fn, repeats: int = 5) -> float:
    """The smallest CPU time (``time.process_time``, seconds) of ``repeats`` calls of ``fn``:
    unlike wall time, it barely moves when other work shares the machine."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def seconds_to_predict(classifier, texts: list[str], batch_size: int) -> float:
    """Wall-clock seconds of one ``classifier.predict(texts, batch_size=...)`` call."""
    start = time.perf_counter()
    classifier.predict(texts, batch_size=batch_size)
    return time.perf_counter() - start


def serialized_mb(model) -> float:
    """The size of a model's saved ``state_dict`` in MB (10^6 bytes): the same measure for
    fp32 and int8 weights."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 1e6


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on a single CPU thread inside the block (restoring the count afterwards), so
    that a timing measures the arithmetic rather than how many cores happen to be free."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ms_per_text(encoder, singles: list[dict], together: dict, repeats: int = 3) -> dict[str, float]:
    """Milliseconds of forward pass per text: one text at a time (``singles``, a list of
    tokenized inputs) and all texts as one padded batch (``together``); best of ``repeats``
    wall-clock passes, after one warm-up call."""
    def timed(inputs) -> float:
        start = time.perf_counter()
        encoder(**inputs)
        return time.perf_counter() - start

    encoder.eval()
    with torch.inference_mode():
        encoder(**singles[0])  # warm-up
        one_by_one = min(sum(timed(s) for s in singles) for _ in range(repeats)) / len(singles)
        batched = min(timed(together) for _ in range(repeats)) / len(singles)
    return {"batch 1 (ms/text)": 1000 * one_by_one, f"batch {len(singles)} (ms/text)": 1000 * batched}


def forward_flops(model: torch.nn.Module, inputs: dict) -> int:
    """Floating-point operations of one forward pass (``torch.utils.flop_counter``): a count of the
    arithmetic, the same on every machine and under any load, unlike a timing."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(**inputs)
    return counter.get_total_flops()

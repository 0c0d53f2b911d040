"""Micro-batching: the texts of concurrent requests go through the model in one call.

Requests wait in a bounded queue; one worker takes the first and, with it, what is already waiting,
up to ``max_batch`` texts. Under load it also waits up to ``max_wait_ms`` for the clients that the
previous batch answered: a batch may wait until it holds as many requests as were in flight when
the previous batch ended (the ones it answered, plus the ones queued), never more. A lone request
on an idle service (one request in flight) never waits. Without that wait, closed-loop clients
split into two cohorts that take turns, and each batch holds half of them. The worker runs one
``predict`` call in a thread and answers each request with its share.

A request whose client left or whose deadline passed is dropped: before its batch starts, or, once
the batch runs, before the next of the length-sorted model calls that ``predict`` makes (it asks
``still_wanted``); no further work is done for it. The worker's thread pool lives from
:meth:`MicroBatcher.start` to :meth:`MicroBatcher.stop`, so the same batcher serves any number of
application lifespans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

MAX_WAIT_MS = 10.0  # how long a batch under load waits for the clients the last batch answered


class Overloaded(Exception):
    """More requests are waiting than the service accepts."""


class NotServing(Exception):
    """The worker is not running (the service is starting, stopping, or its worker failed)."""


@dataclass(eq=False)
class _Job:
    texts: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Gathers the texts of concurrent requests into one ``predict`` call."""

    def __init__(self, predict: Callable[[list[str], Callable[[], list[bool]]], list[dict | None]],
                 max_batch: int, max_wait_ms: float, max_queue: int) -> None:
        """``predict(texts, still_wanted)`` answers a batch: one dict per text, or ``None`` for a text
        it skipped because ``still_wanted()`` (one bool per text) said its request was dropped."""
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.max_queue = max_queue
        self.stats = {"batches": 0, "texts": 0, "largest_batch": 0, "dropped_requests": 0}
        self.task: asyncio.Task | None = None
        self._waiting: set[_Job] = set()  # queued jobs whose callers still wait
        self.busy_since: float | None = None  # when the running batch started (time.monotonic)
        self.in_flight = 1  # requests answered by the last batch or queued when it ended

    def start(self) -> None:
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(self.max_queue)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertclf-predict")
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.busy_since = None

    @property
    def waiting(self) -> int:
        """Requests in the queue whose callers still wait for them."""
        return len(self._waiting)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def busy_for(self) -> float:
        """Seconds the running batch has been in ``predict`` (0 when idle)."""
        return time.monotonic() - self.busy_since if self.busy_since is not None else 0.0

    async def submit(self, texts: list[str]) -> list[dict]:
        """The predictions for ``texts``, once a batch that holds them has run. Cancelling the
        caller (a deadline, a client that left) drops the request if its batch has not started."""
        if not self.running:
            raise NotServing
        job = _Job(texts, asyncio.get_running_loop().create_future())
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            raise Overloaded from None
        self._waiting.add(job)
        job.future.add_done_callback(lambda _: self._waiting.discard(job))
        return await job.future

    async def _run(self) -> None:
        carry = None  # a job that did not fit the last batch: it starts the next one
        while True:
            jobs = [carry or await self.queue.get()]
            self._waiting.discard(jobs[0])
            carry = await self._gather(jobs)
            live = [job for job in jobs if not job.future.done()]  # done: cancelled by its caller
            self.stats["dropped_requests"] += len(jobs) - len(live)
            if live:
                await self._run_batch(live)
                self.in_flight = len(live) + self.waiting

    async def _gather(self, jobs: list[_Job]) -> _Job | None:
        """Add queued jobs to ``jobs`` up to ``max_batch`` texts, waiting at most ``max_wait`` for
        more while ``jobs`` holds fewer requests than were in flight when the last batch ended;
        return the job that would overflow the batch, if any."""
        loop = asyncio.get_running_loop()
        deadline, size = loop.time() + self.max_wait, len(jobs[0].texts)
        while size < self.max_batch:
            if self.queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0 or len(jobs) >= self.in_flight:
                    return None
                try:
                    job = await asyncio.wait_for(self.queue.get(), remaining)
                except asyncio.TimeoutError:
                    return None
            else:
                job = self.queue.get_nowait()
            self._waiting.discard(job)
            if job.future.done():
                self.stats["dropped_requests"] += 1
                continue
            if size + len(job.texts) > self.max_batch:
                return job
            jobs.append(job)
            size += len(job.texts)
        return None

    async def _run_batch(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        job_of_text = [job for job in jobs for _ in job.texts]

        def still_wanted() -> list[bool]:  # read in the worker thread; a done future is never undone
            return [not job.future.done() for job in job_of_text]

        self.busy_since = time.monotonic()
        try:
            predictions = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.predict, texts, still_wanted)
        except Exception as error:  # noqa: BLE001 - every waiting request gets the error
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        finally:
            self.busy_since = None
        computed = sum(p is not None for p in predictions)
        self.stats["batches"] += 1
        self.stats["texts"] += computed
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(texts))
        start = 0
        for job in jobs:
            answer = predictions[start : start + len(job.texts)]
            if all(p is None for p in answer):  # skipped whole: its caller left before its turn came
                self.stats["dropped_requests"] += 1
            elif not job.future.done():  # done: its caller gave up while its texts were computed
                job.future.set_result(answer)
            start += len(job.texts)

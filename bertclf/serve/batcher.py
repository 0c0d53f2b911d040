"""Micro-batching: the texts of concurrent requests go through the model in one call.

Requests wait in a bounded queue; one worker takes the first and, with it, what is already waiting
(``max_wait_ms=0``, the default: it never waits when the queue is empty, so a lone request is
never delayed), or what arrives within ``max_wait_ms``, up to ``max_batch`` texts; it runs one
``predict`` call in a thread and answers each request with its share. A request whose client left
or whose deadline passed before its batch started is dropped from the batch: no work is done for
it. The worker's thread pool lives from :meth:`MicroBatcher.start` to :meth:`MicroBatcher.stop`, so
the same batcher serves any number of application lifespans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


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

    def __init__(self, predict: Callable[[list[str]], list[dict]], max_batch: int, max_wait_ms: float,
                 max_queue: int) -> None:
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.max_queue = max_queue
        self.stats = {"batches": 0, "texts": 0, "largest_batch": 0, "dropped_requests": 0}
        self.task: asyncio.Task | None = None
        self._waiting: set[_Job] = set()  # queued jobs whose callers still wait
        self.busy_since: float | None = None  # when the running batch started (time.monotonic)

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

    async def _gather(self, jobs: list[_Job]) -> _Job | None:
        """Add queued jobs to ``jobs`` up to ``max_batch`` texts, waiting at most ``max_wait`` for
        more; return the job that would overflow the batch, if any."""
        loop = asyncio.get_running_loop()
        deadline, size = loop.time() + self.max_wait, len(jobs[0].texts)
        while size < self.max_batch:
            if self.queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0:
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
        self.busy_since = time.monotonic()
        try:
            predictions = await asyncio.get_running_loop().run_in_executor(self._executor, self.predict, texts)
        except Exception as error:  # noqa: BLE001 - every waiting request gets the error
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        finally:
            self.busy_since = None
        self.stats["batches"] += 1
        self.stats["texts"] += len(texts)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(texts))
        start = 0
        for job in jobs:
            if not job.future.done():  # done: its caller gave up while the batch ran
                job.future.set_result(predictions[start : start + len(job.texts)])
            start += len(job.texts)

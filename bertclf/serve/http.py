"""An HTTP service for a classifier: ``bertclf serve RUN_DIR``, or ``create_app(classifier)``.

``POST /predict`` takes ``{"text": "..."}`` (answer: one ``{"label", "score", "probs"}`` dict)
or ``{"texts": ["...", ...]}`` (answer: ``{"predictions": [dict, ...]}``); ``GET /health``,
``GET /metadata``, and the OpenAPI docs at ``/docs``. Errors are JSON, ``{"error": "..."}``:
400 not JSON, 422 wrong fields or types, 413 too many texts or characters, 503 queue full, and
500 naming the exception when prediction itself fails (the service goes on serving).

Micro-batching: requests wait in a bounded queue; one worker takes the first, gathers more
until it holds ``max_batch`` texts or ``max_wait_ms`` have passed, runs one ``predict`` call in
a thread, and answers each request with its share. ``max_batch=1``: one request at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from bertclf import __version__
from bertclf.errors import BertclfError
from bertclf.serve.classifier import Classifier

log = logging.getLogger("bertclf.serve.http")


class PredictRequest(BaseModel):
    """One text, or a list of texts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"text": "what a day"}]})
    text: str | None = None
    texts: list[str] | None = None

    @model_validator(mode="after")
    def _one_of_text_or_texts(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send either 'text' (one string) or 'texts' (a list of strings)")
        if self.texts == []:
            raise ValueError("'texts' is empty: send at least one text")
        return self


class Prediction(BaseModel):
    label: str
    score: float
    probs: dict[str, float]


class Predictions(BaseModel):
    predictions: list[Prediction]


class Overloaded(Exception):
    """More requests are waiting than the service accepts."""


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future


class MicroBatcher:
    """Gathers the texts of concurrent requests into one ``predict`` call."""

    def __init__(self, predict: Callable[[list[str]], list[dict]], max_batch: int, max_wait_ms: float,
                 max_queue: int) -> None:
        self.predict, self.max_batch, self.max_wait = predict, max_batch, max_wait_ms / 1000
        self.max_queue = max_queue
        self.stats = {"batches": 0, "texts": 0, "largest_batch": 0}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bertclf-predict")

    def start(self) -> None:
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(self.max_queue)
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(self, texts: list[str]) -> list[dict]:
        """The predictions for ``texts``, once a batch that holds them has run."""
        job = _Job(texts, asyncio.get_running_loop().create_future())
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            raise Overloaded from None
        return await job.future

    async def _run(self) -> None:
        carry = None  # a job that did not fit the last batch: it starts the next one
        while True:
            jobs = [carry or await self.queue.get()]
            carry = await self._gather(jobs)
            await self._run_batch(jobs)

    async def _gather(self, jobs: list[_Job]) -> _Job | None:
        """Add queued jobs to ``jobs`` up to ``max_batch`` texts or ``max_wait``; return the
        job that would overflow the batch, if any."""
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
            if size + len(job.texts) > self.max_batch:
                return job
            jobs.append(job)
            size += len(job.texts)
        return None

    async def _run_batch(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            predictions = await asyncio.get_running_loop().run_in_executor(self._executor, self.predict, texts)
        except Exception as error:  # noqa: BLE001 - every waiting request gets the error
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(error)
            return
        self.stats["batches"] += 1
        self.stats["texts"] += len(texts)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(texts))
        start = 0
        for job in jobs:
            if not job.future.done():  # done: the request was cancelled
                job.future.set_result(predictions[start : start + len(job.texts)])
            start += len(job.texts)


def create_app(
    classifier: Classifier,
    *,
    max_batch: int = 32,
    max_wait_ms: float = 5.0,
    max_queue: int = 256,
    max_texts: int = 64,
    max_chars: int = 10_000,
) -> FastAPI:
    """The service: ``max_batch`` texts per model call, ``max_wait_ms`` to gather them,
    ``max_queue`` waiting requests before 503, ``max_texts`` per request and ``max_chars``
    per text before 413."""
    limits = {"max_batch": max_batch, "max_queue": max_queue, "max_texts": max_texts, "max_chars": max_chars}
    for name, value in limits.items():
        if value < 1:
            raise BertclfError(f"{name} must be at least 1, got {value}")
    if max_wait_ms < 0:
        raise BertclfError(f"max_wait_ms must be 0 or more, got {max_wait_ms}")
    max_body = 1024 + max_texts * (6 * max_chars + 4)  # every character \u-escaped in JSON
    batcher = MicroBatcher(
        lambda texts: classifier.predict(texts, batch_size=max_batch), max_batch, max_wait_ms, max_queue,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="bertclf", version=__version__, lifespan=lifespan,
                  description=f"Text classification with labels {', '.join(classifier.labels)}.")

    @app.exception_handler(StarletteHTTPException)  # ours, and the 404s and 405s
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if problems and problems[0]["type"] == "json_invalid":
            reason = problems[0].get("ctx", {}).get("error")
            return JSONResponse({"error": "the request body is not valid JSON" + (f" ({reason})" if reason else "")},
                                status_code=400)
        return JSONResponse({"error": "; ".join(_describe(p) for p in problems)}, status_code=422)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return JSONResponse({"error": f"the request body has {length} bytes; the limit is {max_body}"},
                                status_code=413)
        return await call_next(request)

    @app.post("/predict", response_model=Prediction | Predictions,
              responses={400: {"description": "not JSON"}, 413: {"description": "too many texts or characters"},
                         422: {"description": "wrong fields or types"}, 500: {"description": "prediction failed"},
                         503: {"description": "queue full"}})
    async def predict(body: PredictRequest):
        """Classify one text (``text``) or several (``texts``)."""
        texts = [body.text] if body.texts is None else body.texts
        if len(texts) > max_texts:
            raise HTTPException(413, f"{len(texts)} texts in one request; the limit is {max_texts}: "
                                     "send them in several requests")
        long = [i for i, text in enumerate(texts) if len(text) > max_chars]
        if long:
            raise HTTPException(413, f"{len(long)} text(s) longer than the limit of {max_chars} characters "
                                     f"(the first: text {long[0]}, {len(texts[long[0]])} characters)")
        try:
            predictions = await batcher.submit(texts)
        except Overloaded:
            raise HTTPException(503, f"the service is busy ({max_queue} requests waiting): retry shortly",
                                headers={"Retry-After": "1"}) from None
        except Exception as error:  # noqa: BLE001 - the model failed: say so, keep serving
            log.exception("prediction failed for a batch holding %d text(s) of this request", len(texts))
            raise HTTPException(500, f"prediction failed: {type(error).__name__}: {error}") from None
        return predictions[0] if body.texts is None else {"predictions": predictions}

    @app.get("/health")
    async def health() -> JSONResponse:
        """``ok`` while the batching worker runs; the queue length and batch counts."""
        ok = not batcher.task.done()
        return JSONResponse({"status": "ok" if ok else "worker stopped", "queued": batcher.queue.qsize(),
                             **batcher.stats}, status_code=200 if ok else 503)

    @app.get("/metadata")
    async def metadata() -> dict:
        """Labels, model, profile and library versions of the run; backend and limits."""
        info = classifier.info
        return {
            "labels": classifier.labels,
            "model": info.get("config", {}).get("model"),
            "profile": info.get("profile"),
            "created": info.get("created"),
            "versions": info.get("versions", {}),
            "backend": classifier.backend,
            "int8": classifier.quantized,
            "max_length": classifier.max_length,
            "limits": {**limits, "max_wait_ms": max_wait_ms, "max_body_bytes": max_body},
        }

    return app


_SHAPE = 'send {"text": "..."} or {"texts": ["...", ...]}'


def _describe(problem: dict) -> str:
    """One validation problem as ``where: what``, e.g. ``texts.1: Input should be a valid string``."""
    where = ".".join(str(part) for part in problem["loc"] if part != "body")
    if not where:  # the body as a whole
        if problem["type"] == "missing":
            return f"the request has no body: {_SHAPE}"
        if problem["type"] != "value_error":
            return f"the body is not a JSON object: {_SHAPE}"
        return problem["msg"].removeprefix("Value error, ")
    return f"{where}: {problem['msg']}"

"""An HTTP service for a classifier: ``bertclf serve RUN_DIR``, or ``create_app(classifier)``.

``POST /predict`` takes ``{"text": "..."}`` (answer: one ``{"label", "score", "probs"}`` dict)
or ``{"texts": ["...", ...]}`` (answer: ``{"predictions": [dict, ...]}``); ``GET /health``,
``GET /metadata``, and the OpenAPI docs at ``/docs``. Errors are JSON, ``{"error": "..."}``:
400 not JSON, 422 wrong fields or types, 413 too many texts, characters or body bytes, 503 queue
full or worker not running, 504 no answer within the request's deadline, and 500 when prediction
itself fails (the answer carries an error id; the exception goes to the service's log, never to
the client). Concurrent requests are micro-batched (:mod:`bertclf.serve.batcher`); a request
whose client disconnects costs no model time from then on (the model call already running
finishes; the rest of its batch skips it).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from bertclf import __version__
from bertclf.errors import BertclfError
from bertclf.serve.batcher import MAX_WAIT_MS, MicroBatcher, NotServing, Overloaded
from bertclf.serve.classifier import Classifier
from bertclf.serve.limits import BodyLimit

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


def check_limits(*, max_wait_ms: float, timeout_s: float, **counts: int) -> None:
    """Refuse settings the service cannot run with, naming the setting."""
    for name, value in counts.items():
        if value < 1:
            raise BertclfError(f"{name} must be at least 1, got {value}")
    if max_wait_ms < 0:
        raise BertclfError(f"max_wait_ms must be 0 or more, got {max_wait_ms}")
    if not timeout_s > 0:
        raise BertclfError(f"timeout_s must be more than 0, got {timeout_s}")


def create_app(
    classifier: Classifier,
    *,
    max_batch: int = 32,
    max_wait_ms: float = MAX_WAIT_MS,
    max_queue: int = 256,
    max_texts: int = 64,
    max_chars: int = 10_000,
    timeout_s: float = 30.0,
) -> FastAPI:
    """The service: ``max_batch`` texts per model call, gathered from what is already waiting (and,
    under load, what arrives within ``max_wait_ms``: see :mod:`bertclf.serve.batcher`),
    ``max_queue`` waiting requests before 503,
    ``max_texts`` per request and ``max_chars`` per text before 413, ``timeout_s`` seconds for an
    answer before 504 (and a worker busy that long makes ``/health`` say so)."""
    limits = {"max_batch": max_batch, "max_queue": max_queue, "max_texts": max_texts, "max_chars": max_chars}
    check_limits(**limits, max_wait_ms=max_wait_ms, timeout_s=timeout_s)
    max_body = 1024 + max_texts * (6 * max_chars + 4)  # every character \u-escaped in JSON
    batcher = MicroBatcher(
        lambda texts, wanted: classifier.predict(texts, batch_size=max_batch, still_wanted=wanted),
        max_batch, max_wait_ms, max_queue,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="bertclf", version=__version__, lifespan=lifespan,
                  description=f"Text classification with labels {', '.join(classifier.labels)}.")
    app.add_middleware(BodyLimit, max_body=max_body)

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

    @app.post("/predict", response_model=Prediction | Predictions,
              responses={400: {"description": "not JSON"}, 413: {"description": "too many texts or characters"},
                         422: {"description": "wrong fields or types"}, 500: {"description": "prediction failed"},
                         503: {"description": "queue full, or not serving"},
                         504: {"description": "no answer within the deadline"}})
    async def predict(body: PredictRequest, request: Request):
        """Classify one text (``text``) or several (``texts``)."""
        texts = [body.text] if body.texts is None else body.texts
        if len(texts) > max_texts:
            raise HTTPException(413, f"{len(texts)} texts in one request; the limit is {max_texts}: "
                                     "send them in several requests")
        long = [i for i, text in enumerate(texts) if len(text) > max_chars]
        if long:
            raise HTTPException(413, f"{len(long)} text(s) longer than the limit of {max_chars} characters "
                                     f"(the first: text {long[0]}, {len(texts[long[0]])} characters)")
        predictions = await _answer(batcher, texts, request, timeout_s, max_queue)
        return predictions[0] if body.texts is None else {"predictions": predictions}

    @app.get("/health")
    async def health() -> JSONResponse:
        """``ok`` while the worker runs and no batch has been stuck past the deadline; the queue
        length, batch counts and requests dropped because their clients left."""
        stuck = batcher.busy_for() > timeout_s
        status = "ok" if batcher.running and not stuck else (
            f"worker stuck for {batcher.busy_for():.0f} s" if stuck else "worker stopped")
        return JSONResponse({"status": status, "queued": batcher.waiting, **batcher.stats},
                            status_code=200 if status == "ok" else 503)

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
            "limits": {**limits, "max_wait_ms": max_wait_ms, "max_body_bytes": max_body, "timeout_s": timeout_s},
        }

    return app


async def _answer(batcher: MicroBatcher, texts: list[str], request: Request, timeout_s: float,
                  max_queue: int) -> list[dict]:
    """The batcher's predictions for ``texts``, or the HTTP error that says why there are none: the
    deadline passed (504), the queue is full or the worker is not running (503), the model failed
    (500). A client that disconnects first cancels its request: no further model time."""
    work = asyncio.ensure_future(asyncio.wait_for(batcher.submit(texts), timeout_s))
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not work.done():  # the client left: drop the request (nobody reads an answer)
        work.cancel()
        raise HTTPException(499, "the client closed the connection")
    try:
        return work.result()
    except asyncio.TimeoutError:
        raise HTTPException(504, f"no answer within {timeout_s:g} s: the service is overloaded or stuck; "
                                 "retry later", headers={"Retry-After": "5"}) from None
    except Overloaded:
        raise HTTPException(503, f"the service is busy ({max_queue} requests waiting): retry shortly",
                            headers={"Retry-After": "1"}) from None
    except NotServing:
        raise HTTPException(503, "the service is not serving (starting, stopping, or its worker failed)",
                            headers={"Retry-After": "5"}) from None
    except Exception:  # noqa: BLE001 - the model failed: say so without internals, keep serving
        error_id = uuid.uuid4().hex[:12]
        log.exception("prediction failed (error id %s) for a request of %d text(s)", error_id, len(texts))
        raise HTTPException(500, f"prediction failed (error id {error_id}; the service's log has the "
                                 "details)") from None


async def _disconnected(request: Request) -> None:
    """Return when the client closes the connection (the body has been read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


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

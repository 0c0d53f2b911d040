"""The HTTP service: uvicorn on 127.0.0.1 in a background thread, a real HTTP client (httpx)."""

import asyncio
import json
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from bertclf import BertclfError, Classifier
from bertclf.serve.http import create_app


@pytest.fixture(scope="module")
def clf(tiny_run_dir):
    return Classifier.load(tiny_run_dir)


@contextmanager
def serving(app):
    """Run ``app`` under uvicorn on a free loopback port; yield its base URL; stop it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets NODELAY
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # a guard against a hang, not a speed limit
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def post_concurrently(url: str, bodies: list[dict]) -> list[httpx.Response]:
    """POST every body to /predict at once, each on its own connection."""
    async def send():
        async with httpx.AsyncClient(base_url=url, timeout=20, limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(client.post("/predict", json=body) for body in bodies))

    return asyncio.run(send())


def test_health_metadata_docs_and_predictions(clf, tiny_run_dir):
    with serving(create_app(clf)) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").json()["status"] == "ok"
        meta = client.get("/metadata").json()
        info = json.loads((tiny_run_dir / "bertclf.json").read_text())
        assert meta["labels"] == clf.labels == info["label_names"]
        assert meta["model"] == info["config"]["model"] and meta["profile"] == info["profile"]
        assert meta["versions"] == info["versions"]
        assert meta["backend"] == "torch" and meta["int8"] is False
        assert client.get("/docs").status_code == 200 and "/predict" in client.get("/openapi.json").json()["paths"]

        one = client.post("/predict", json={"text": "so happy today"})
        assert one.status_code == 200
        expected = clf.predict(["so happy today"])[0]
        assert one.json()["label"] == expected["label"] and one.json()["probs"] == pytest.approx(expected["probs"])
        texts = ["so happy today", "so sad today", "meh"]
        many = client.post("/predict", json={"texts": texts}).json()["predictions"]
        assert [p["label"] for p in many] == [p["label"] for p in clf.predict(texts)]


async def until(condition, what: str, seconds: float = 60) -> None:
    """Wait, sleeping between looks, until ``await condition()`` is true; fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:.0f} s"
        await asyncio.sleep(0.02)


def test_concurrent_requests_are_micro_batched(clf):
    texts = [f"tweet number {i}: " + "good " * i for i in range(16)]
    expected = clf.predict(texts)
    gated = GatedClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)
    app = create_app(gated, max_batch=32, max_wait_ms=0)  # 0: batch only what is already waiting

    async def all_waiting(client, sent) -> bool:  # the first batch waits at the gate, the others in the queue
        queued = (await client.get("/health")).json()["queued"]
        return bool(gated.batches) and gated.batches[0] + queued == len(texts)

    with gated_burst(app, gated, [{"text": text} for text in texts], all_waiting, "every request waiting") as (
            answers, url):
        stats = httpx.get(f"{url}/health").json()
    assert all(a.status_code == 200 for a in answers)
    for answer, reference in zip(answers, expected):  # each request gets its own text's prediction
        assert answer.json()["probs"] == pytest.approx(reference["probs"], abs=1e-5)
    first = gated.batches[0]  # the requests that had arrived when the worker took the first one
    rest = [] if first == len(texts) else [len(texts) - first]  # the others, waiting together behind it
    assert (stats["texts"], stats["batches"], stats["largest_batch"]) == (16, 1 + len(rest), max([first, *rest]))


def test_max_batch_one_serves_one_request_at_a_time(clf):
    with serving(create_app(clf, max_batch=1)) as url:
        answers = post_concurrently(url, [{"text": f"text {i}"} for i in range(8)])
        stats = httpx.get(f"{url}/health").json()
    assert all(a.status_code == 200 for a in answers)
    assert stats["batches"] == 8 and stats["largest_batch"] == 1


BAD_REQUESTS = [  # (what, request arguments, status, words the error must contain)
    ("not JSON", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ("plain text", {"content": b"hello", "headers": {"content-type": "text/plain"}}, 422, "not a JSON object"),
    ("no body", {}, 422, "no body"),
    ("a JSON list", {"json": ["a", "b"]}, 422, "not a JSON object"),
    ("text not a string", {"json": {"text": 5}}, 422, "text: Input should be a valid string"),
    ("texts not a list", {"json": {"texts": "abc"}}, 422, "texts: Input should be a valid list"),
    ("one text not a string", {"json": {"texts": ["ok", 3]}}, 422, "texts.1: Input should be a valid string"),
    ("empty list", {"json": {"texts": []}}, 422, "'texts' is empty"),
    ("neither field", {"json": {}}, 422, "send either 'text'"),
    ("both fields", {"json": {"text": "a", "texts": ["b"]}}, 422, "send either 'text'"),
    ("unknown field", {"json": {"txt": "a"}}, 422, "txt: Extra inputs are not permitted"),
    ("too many texts", {"json": {"texts": ["a"] * 5}}, 413, "5 texts in one request; the limit is 4"),
    ("too long", {"json": {"texts": ["ok", "x" * 51]}}, 413, "limit of 50 characters (the first: text 1"),
    ("body too large", {"content": b'{"text": "' + b"x" * 100_000 + b'"}',
                        "headers": {"content-type": "application/json"}}, 413, "the request body has 100012 bytes"),
]


def test_bad_requests_get_a_json_4xx_and_the_service_keeps_serving(clf):
    with serving(create_app(clf, max_texts=4, max_chars=50)) as url, httpx.Client(base_url=url, timeout=10) as client:
        for what, request, status, words in BAD_REQUESTS:
            answer = client.post("/predict", **request)
            assert (answer.status_code, answer.headers["content-type"]) == (status, "application/json"), what
            assert words in answer.json()["error"], (what, answer.json())
            assert client.post("/predict", json={"text": "still there?"}).status_code == 200, what
        assert client.get("/predict").status_code == 405 and client.get("/nowhere").json() == {"error": "Not Found"}
        assert client.get("/health").json()["status"] == "ok"


@contextmanager
def gated_burst(app, gated, bodies: list[dict], ready, what: str):
    """POST every body at once to a service whose batches wait at ``gated``'s gate; open the gate
    once ``await ready(client, sent)`` holds; yield the answers and the service's URL."""
    async def burst(url):
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=64)) as client:
            sent = [asyncio.create_task(client.post("/predict", json=body)) for body in bodies]
            await until(lambda: ready(client, sent), what)
            gated.gate.set()
            return await asyncio.gather(*sent)

    with serving(app) as url:
        try:
            answers = asyncio.run(burst(url))
        finally:
            gated.gate.set()
        yield answers, url


class GatedClassifier(Classifier):
    """The real classifier, but each batch waits for ``gate``: requests pile up deterministically."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.batches = []  # the size of each batch that reached the gate

    def predict(self, texts, **kwargs):
        self.batches.append(len(texts))
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return super().predict(texts, **kwargs)


def test_a_full_queue_answers_503_and_the_service_recovers(clf):
    gated = GatedClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)
    app = create_app(gated, max_batch=1, max_queue=2)

    async def five_refused(client, sent) -> bool:  # one request at the gate, two in the queue: five refused
        return sum(task.done() for task in sent) >= 5

    with gated_burst(app, gated, [{"text": f"text {i}"} for i in range(8)], five_refused, "five refused") as (
            answers, url):
        statuses = [a.status_code for a in answers]
        assert statuses.count(503) >= 5 and statuses.count(200) in (2, 3), statuses
        refused = next(a for a in answers if a.status_code == 503)
        assert "busy (2 requests waiting)" in refused.json()["error"] and refused.headers["retry-after"] == "1"
        assert httpx.post(f"{url}/predict", json={"text": "and now?"}).status_code == 200


class FailingClassifier(Classifier):
    """The real classifier, except that a batch holding the text "boom" raises inside predict."""

    def predict(self, texts, **kwargs):
        if "boom" in texts:
            raise RuntimeError("the model ran out of luck on 'boom'")
        return super().predict(texts, **kwargs)


def test_an_error_inside_prediction_is_a_json_500_and_the_service_keeps_serving(clf):
    failing = FailingClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)
    with serving(create_app(failing, max_batch=1)) as url, httpx.Client(base_url=url, timeout=10) as client:
        for body in ({"text": "boom"}, {"texts": ["boom"]}):
            answer = client.post("/predict", json=body)
            assert (answer.status_code, answer.headers["content-type"]) == (500, "application/json")
            assert answer.json()["error"].startswith("prediction failed (error id ")
            assert client.post("/predict", json={"text": "still there?"}).status_code == 200
        assert client.get("/health").json()["status"] == "ok"
        answers = post_concurrently(url, [{"text": "boom"}] + [{"text": f"text {i}"} for i in range(4)])
        assert [a.status_code for a in answers] == [500, 200, 200, 200, 200]


def test_bad_settings_are_refused(clf):
    with pytest.raises(BertclfError, match="max_batch must be at least 1"):
        create_app(clf, max_batch=0)
    with pytest.raises(BertclfError, match="max_wait_ms must be 0 or more"):
        create_app(clf, max_wait_ms=-1)


# --- hardening: limits on what arrives, deadlines, clients that leave, lifespans, errors ----------


def test_a_chunked_upload_past_the_limit_gets_413_without_being_read_whole(clf):
    def chunks():  # no Content-Length: the limit has to count the bytes as they arrive
        yield b'{"text": "'
        for _ in range(50):
            yield b"x" * 10_000
        yield b'"}'

    with serving(create_app(clf, max_texts=1, max_chars=50)) as url:
        answer = httpx.post(f"{url}/predict", content=chunks(), headers={"content-type": "application/json"})
        assert answer.status_code == 413 and "the limit is" in answer.json()["error"]
        assert httpx.post(f"{url}/predict", json={"text": "still there?"}).status_code == 200


def test_a_client_still_sending_reads_the_413(clf):
    """urllib sends the whole body before it reads: it must get the answer, not a broken pipe."""
    import urllib.error
    import urllib.request

    with serving(create_app(clf, max_texts=1, max_chars=50)) as url:
        body = json.dumps({"text": "x" * 2_000_000}).encode()
        request = urllib.request.Request(f"{url}/predict", data=body, headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413 and "the limit is" in json.loads(refused.value.read())["error"]


def test_a_request_past_its_deadline_gets_504_and_health_reports_the_stuck_worker(clf):
    gated = GatedClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)
    with serving(create_app(gated, timeout_s=0.5)) as url:
        try:
            answer = httpx.post(f"{url}/predict", json={"text": "hello"}, timeout=30)
            assert answer.status_code == 504 and "no answer within 0.5 s" in answer.json()["error"]
            health = httpx.get(f"{url}/health")
            assert health.status_code == 503 and health.json()["status"].startswith("worker stuck")
        finally:
            gated.gate.set()
        assert httpx.post(f"{url}/predict", json={"text": "and now?"}, timeout=30).status_code == 200
        assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_requests_whose_clients_left_cost_no_model_time(clf):
    gated = GatedClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)

    async def leave_early(url):
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            first = asyncio.create_task(client.post("/predict", json={"text": "the batch at the gate"}))
            await until(lambda: asyncio.sleep(0, result=bool(gated.batches)), "the first batch at the gate")
            async with httpx.AsyncClient(base_url=url, timeout=5) as impatient:  # they give up after 5 s
                sent = [asyncio.create_task(impatient.post("/predict", json={"text": f"text {i}"})) for i in range(5)]

                async def all_queued() -> bool:
                    return (await client.get("/health")).json()["queued"] == 5

                await until(all_queued, "five requests queued behind the gate")
                gave_up = await asyncio.gather(*sent, return_exceptions=True)
            assert all(isinstance(g, httpx.TimeoutException) for g in gave_up)

            async def abandoned() -> bool:  # the service has noticed each closed connection
                return (await client.get("/health")).json()["queued"] == 0

            await until(abandoned, "the five abandoned requests off the waiting list")
            gated.gate.set()
            await first
            return (await client.get("/health")).json()

    with serving(create_app(gated)) as url:
        try:
            stats = asyncio.run(leave_early(url))
        finally:
            gated.gate.set()
    assert stats["texts"] == 1 and stats["batches"] == 1 and stats["dropped_requests"] == 5


def test_the_same_app_serves_a_second_lifespan(clf):
    app = create_app(clf)
    for _ in range(2):  # e.g. a test client, then the server; or a restart inside one process
        with serving(app) as url:
            assert httpx.post(f"{url}/predict", json={"text": "hello"}).status_code == 200


def test_a_500_names_an_error_id_and_no_internals(clf, caplog):
    failing = FailingClassifier(clf.model, clf.tokenizer, clf.max_length, clf.device, info=clf.info)
    with serving(create_app(failing)) as url:
        answer = httpx.post(f"{url}/predict", json={"text": "boom"})
    error = answer.json()["error"]
    assert answer.status_code == 500 and "error id" in error and "luck" not in error and "RuntimeError" not in error
    error_id = error.split("error id ")[1].split(";")[0]
    assert any(error_id in record.getMessage() and record.exc_info for record in caplog.records)

"""The micro-batcher alone (no HTTP): which requests share a model call. Each test drives the
batcher with asyncio and a stand-in ``predict`` that records its batches."""

import asyncio
import threading

from bertclf.serve.batcher import MicroBatcher

PATIENT = 60_000  # ms: a wait this long would be a hang, so every batch below forms without it


def recording(gate: threading.Event | None = None):
    """A ``predict`` that records each batch's texts (and waits at ``gate`` first, when given)."""
    batches = []

    def predict(texts, still_wanted):
        if gate is not None:
            gate.wait(timeout=60)
        batches.append(list(texts))
        return [{"label": text} for text in texts]

    return predict, batches


async def served(batcher: MicroBatcher, scenario):
    batcher.start()
    try:
        return await asyncio.wait_for(scenario(), timeout=30)  # a guard against a batcher that hangs
    finally:
        await batcher.stop()


def test_a_lone_request_on_an_idle_service_never_waits_for_company():
    predict, batches = recording()
    batcher = MicroBatcher(predict, max_batch=32, max_wait_ms=PATIENT, max_queue=16)

    async def one_client():  # a closed loop of one: each request alone in flight
        return [await batcher.submit([f"text {i}"]) for i in range(3)]

    answers = asyncio.run(served(batcher, one_client))
    assert answers == [[{"label": f"text {i}"}] for i in range(3)]
    assert batches == [["text 0"], ["text 1"], ["text 2"]]


def test_under_load_a_batch_waits_for_the_clients_the_last_batch_answered():
    gate = threading.Event()
    predict, batches = recording(gate)
    batcher = MicroBatcher(predict, max_batch=32, max_wait_ms=PATIENT, max_queue=16)

    async def four_clients():
        first = asyncio.ensure_future(batcher.submit(["a"]))  # alone: its batch starts at once
        while not batcher.busy_for():
            await asyncio.sleep(0.01)
        others = [asyncio.ensure_future(batcher.submit([text])) for text in "bcd"]  # queued behind it
        while batcher.waiting < 3:
            await asyncio.sleep(0.01)
        gate.set()
        await first  # four requests were in flight: the next batch waits for a's client to send again
        again = await batcher.submit(["e"])
        return [await job for job in others] + [again]

    asyncio.run(served(batcher, four_clients))
    assert batches == [["a"], ["b", "c", "d", "e"]]  # without the wait: [a], [b, c, d], [e]


def test_a_request_whose_client_left_while_its_batch_ran_is_not_computed():
    gate, computed = threading.Event(), []

    def one_call_per_text(texts, still_wanted):  # as Classifier.predict with batch_size=1
        gate.wait(timeout=60)
        answers = []
        for i, text in enumerate(texts):
            wanted = still_wanted()[i]
            computed.extend([text] if wanted else [])
            answers.append({"label": text} if wanted else None)
        return answers

    batcher = MicroBatcher(one_call_per_text, max_batch=32, max_wait_ms=0, max_queue=16)

    async def the_second_client_leaves():
        stays, leaves = (asyncio.ensure_future(batcher.submit([text])) for text in "ab")
        while not batcher.busy_for():  # both in one batch, which waits at the gate
            await asyncio.sleep(0.01)
        leaves.cancel()
        await asyncio.sleep(0.01)
        gate.set()
        return await stays

    assert asyncio.run(served(batcher, the_second_client_leaves)) == [{"label": "a"}]
    assert computed == ["a"]
    assert (batcher.stats["texts"], batcher.stats["dropped_requests"]) == (1, 1)

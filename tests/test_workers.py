"""Worker processes answering predict requests (scratchcnn.workers): the same answers as the
server process, batches, a worker that dies is replaced, closing stops every process."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from serve_helpers import bundled_model, digit_png, one_pixels

from scratchcnn.errors import ScratchCNNError
from scratchcnn.explain import DigitExplainer
from scratchcnn.layers import Layer, ReLU
from scratchcnn.presets import build_model
from scratchcnn.workers import WorkerPool, model_data

pytest.importorskip("PIL.Image")


def pixels_body(pixels: np.ndarray) -> bytes:
    return json.dumps({"pixels": pixels.ravel().tolist()}).encode()


REQUESTS = [
    ("application/json", pixels_body(one_pixels())),
    ("image/png", digit_png("7")),
    ("application/json", b'{"pixels": [1, 2]}'),
    ("image/png", b"not a picture"),
    ("text/plain", b"hello"),
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def model():
    return bundled_model()


@pytest.fixture(scope="module")
def pool(model):
    with WorkerPool(model, "bundled", 2) as workers:
        yield workers


def test_workers_answer_as_the_server_process_does(pool, model):
    explainer = DigitExplainer(model, "bundled")
    for kind, body in REQUESTS:
        status, payload = pool.respond(kind, body)
        expected_status, expected = explainer.respond(kind, body)
        assert status == expected_status, (kind, body[:20])
        answer, wanted = json.loads(payload), json.loads(expected)
        if status != 200:
            assert answer == wanted and "error" in answer
            continue
        assert answer["digit"] == wanted["digit"]
        assert answer["input"] == wanted["input"]
        assert answer["feature_maps"] == wanted["feature_maps"]
        # One batch or another: the same float32 arithmetic sample by sample, rounded.
        np.testing.assert_allclose(answer["probabilities"], wanted["probabilities"], atol=3e-6)
        np.testing.assert_allclose(answer["saliency"], wanted["saliency"], atol=1.5e-4)
    assert [json.loads(pool.respond(k, b)[1]).get("digit") for k, b in REQUESTS[:2]] == [1, 7]


def test_many_waiting_requests_are_answered_in_batches_each_its_own(pool):
    kinds = [REQUESTS[i % 4] for i in range(64)]
    with ThreadPoolExecutor(16) as threads:
        answers = list(threads.map(lambda request: pool.respond(*request), kinds))
    statuses = [status for status, _ in answers]
    assert statuses == [200, 200, 400, 400] * 16
    digits = [json.loads(payload).get("digit") for _, payload in answers]
    assert digits == [1, 7, None, None] * 16


def test_a_worker_that_dies_is_replaced(model):
    with WorkerPool(model, "bundled", 1) as pool:
        (first,) = pool.pids()
        os.kill(first, signal.SIGKILL)
        status, payload = pool.respond(*REQUESTS[0])
        # The kill may land before the request is sent or while the worker answers.
        assert status == 500 and json.loads(payload)["error"] == "internal error"
        (second,) = pool.pids()
        assert second != first and alive(second)
        assert pool.respond(*REQUESTS[0])[0] == 200


def test_closing_stops_every_worker_and_refuses_later_requests(model):
    pool = WorkerPool(model, "bundled", 2)
    pids = pool.pids()
    assert len(pids) == 2 and all(map(alive, pids))
    pool.close()
    deadline = time.monotonic() + 10
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, pids))
    status, payload = pool.respond(*REQUESTS[0])
    assert status == 503 and "shutting down" in json.loads(payload)["error"]


class OnlyInThisProcess(ReLU):
    """A layer type that a fresh worker process does not know (this module defines it)."""


def test_a_worker_that_cannot_build_the_model_is_a_clear_error():
    model = build_model("classic", seed=0)
    model.layers.insert(1, OnlyInThisProcess())
    assert "OnlyInThisProcess" in Layer.registry
    with pytest.raises(ScratchCNNError, match=r"could not start.*OnlyInThisProcess"):
        WorkerPool(model, "custom", 1)


def test_the_model_travels_as_plain_data():
    model = build_model("fast", seed=0)
    model.metadata["test"] = {"accuracy": np.float64(0.99)}
    header, arrays = model_data(model)
    assert json.loads(header)["metadata"]["test"] == {"accuracy": 0.99}
    assert all(isinstance(raw, bytes) for *_, raw in arrays)
    rebuilt = type(model).from_config(json.loads(header)["config"])
    rebuilt.load_state_dict(
        {k: np.frombuffer(raw, dtype=d).reshape(s) for k, d, s, raw in arrays}
    )
    x = np.random.default_rng(0).standard_normal((3, 28, 28, 1)).astype(np.float32)
    assert np.array_equal(rebuilt.forward(x), model.forward(x))


def test_a_pool_needs_a_worker(model):
    with pytest.raises(ValueError, match="at least 1 worker"):
        WorkerPool(model, "bundled", 0)

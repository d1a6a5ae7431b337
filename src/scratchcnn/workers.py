"""Answering ``POST /api/predict`` in worker processes, so that a busy server uses every core.

A Python process runs Python code on one core at a time (the GIL), and preparing a photo
is Python driving NumPy on small arrays: with many clients, a single process keeps one
core busy while the others idle. :class:`WorkerPool` starts ``count`` processes (by
``spawn``, the same on every OS), each with its own copy of the model and one BLAS thread.
Requests wait in one queue, in the order they came; whenever a worker is free, its thread
here takes an equal share of them and sends them over the worker's pipe as one batch of
``(Content-Type, body)`` pairs, and the worker answers each with its status and JSON bytes
(:meth:`scratchcnn.explain.DigitExplainer.respond_batch`: every digit prepared, then the
network run once for the batch). A worker that dies is replaced and its requests answered
500. Workers ignore Ctrl-C (it reaches the whole terminal's process group) and leave when
their pipe closes: the pool closes it, or the operating system does when the server is
killed.

Nothing here imports NumPy at module level: a worker caps the BLAS threads through the
environment, which BLAS reads once, when NumPy is first imported.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from scratchcnn.errors import ScratchCNNError

if TYPE_CHECKING:
    from scratchcnn.model import Sequential

#: Seconds a new worker may take to import NumPy and rebuild the model.
START_TIMEOUT = 120
#: Seconds closing waits for a worker to finish the batch it is answering.
CLOSE_TIMEOUT = 10
#: The environment variables that cap BLAS and OpenMP pools, set in each worker.
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_READY = b"ready"
_UNAVAILABLE = (503, json.dumps({"error": "the server is shutting down"}).encode())
_WORKER_DIED = (
    500,
    json.dumps({"error": "internal error", "traceback": "a worker process died"}).encode(),
)


def model_data(model: Sequential) -> tuple[str, list[tuple[str, str, list[int], bytes]]]:
    """The model as plain Python data (JSON text and raw array bytes), for a new process.

    Plain data because unpickling NumPy arrays in the worker would import NumPy before the
    worker has capped its BLAS threads.
    """
    header = {"config": model.get_config(), "metadata": model.metadata}
    arrays = [
        (key, value.dtype.str, list(value.shape), value.tobytes())
        for key, value in model.state_dict().items()
    ]
    return json.dumps(header, default=_plain), arrays


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays in metadata, as JSON can hold them."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} in the model's metadata is not JSON data")


class _Worker:
    """One worker process and our end of its pipe."""

    def __init__(self, process: Any, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    def stop(self, timeout: float = 5.0) -> None:
        self.connection.close()  # the worker's recv sees EOF and it returns
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)


class _Request:
    """One predict request waiting for its answer."""

    def __init__(self, kind: str, body: bytes) -> None:
        self.kind = kind
        self.body = body
        self.answer: tuple[int, bytes] = _UNAVAILABLE
        self.done = threading.Event()

    def finish(self, answer: tuple[int, bytes]) -> None:
        self.answer = answer
        self.done.set()


class WorkerPool:
    """``count`` worker processes answering predict requests for one model.

    Each worker has a thread here that takes the requests waiting when its worker is free,
    up to an equal share of them (and at most :data:`~scratchcnn.explain.MAX_BATCH`), and
    sends them over as one batch: the worker prepares each digit, then runs the network
    once for them all (:meth:`~scratchcnn.explain.DigitExplainer.respond_batch`).
    """

    def __init__(self, model: Sequential, source: str, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"a worker pool needs at least 1 worker, got {count!r}")
        from scratchcnn.explain import MAX_BATCH  # the server process has NumPy already

        self._most = MAX_BATCH
        self._context = multiprocessing.get_context("spawn")
        self._data = model_data(model)
        self._source = source
        self._pending: collections.deque[_Request] = collections.deque()
        self._condition = threading.Condition()
        self._closed = False
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        try:
            # Start them all before waiting for any: they import NumPy side by side.
            starting = [self._spawn() for _ in range(count)]
            for worker in starting:
                self._await_ready(worker)
        except BaseException:
            self.close()
            raise
        for worker in starting:
            thread = threading.Thread(
                target=self._dispatch, args=(worker,), name="scratchcnn-dispatch", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    @property
    def size(self) -> int:
        """How many workers the pool has now."""
        with self._condition:
            return len(self._workers)

    def pids(self) -> list[int]:
        """The workers' process ids."""
        with self._condition:
            return [worker.process.pid for worker in self._workers]

    def respond(self, kind: str, body: bytes) -> tuple[int, bytes]:
        """The status and JSON answer to one request, from the next free worker."""
        request = _Request(kind, body)
        with self._condition:
            if self._closed or not self._workers:
                return _UNAVAILABLE
            self._pending.append(request)
            self._condition.notify()
        request.done.wait()
        return request.answer

    def close(self) -> None:
        """Stop taking requests, let each worker finish its batch, then stop the workers."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=CLOSE_TIMEOUT)  # a worker stuck in a batch is stopped below
        with self._condition:
            workers, self._workers = self._workers, []
            left, self._pending = list(self._pending), collections.deque()
        for request in left:
            request.finish(_UNAVAILABLE)
        for worker in workers:
            worker.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the dispatching threads -----------------------------------------------------
    def _dispatch(self, worker: _Worker | None) -> None:
        """Feed one worker batches of waiting requests until the pool closes."""
        while worker is not None:
            with self._condition:
                while not self._pending and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                share = -(-len(self._pending) // max(1, len(self._workers)))
                batch = [self._pending.popleft() for _ in range(min(share, self._most))]
            try:
                worker.connection.send([(request.kind, request.body) for request in batch])
                answers = worker.connection.recv()
            except (EOFError, OSError):
                answers = [_WORKER_DIED] * len(batch)
                worker = self._replace(worker)
            for request, answer in zip(batch, answers):
                request.finish(answer)
        # No worker any more: answer what waits if this was the last one.
        with self._condition:
            if not self._workers:
                left, self._pending = list(self._pending), collections.deque()
            else:
                left = []
        for request in left:
            request.finish(_UNAVAILABLE)

    # --- starting workers ------------------------------------------------------------
    def _spawn(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve_requests,
            args=(theirs, self._data, self._source),
            name="scratchcnn-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        with self._condition:
            self._workers.append(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        # The process's sentinel too: a worker that dies before it has taken its end of
        # the pipe leaves that end open in this process, and the pipe would never say EOF.
        ready = wait([worker.connection, worker.process.sentinel], START_TIMEOUT)
        if not ready:
            raise ScratchCNNError(f"a worker process did not start within {START_TIMEOUT} s")
        try:
            if worker.connection not in ready:
                raise EOFError
            message = worker.connection.recv_bytes()
        except EOFError:
            worker.process.join(1.0)
            raise ScratchCNNError(
                f"a worker process exited while starting (exit code {worker.process.exitcode})"
            ) from None
        if message != _READY:
            raise ScratchCNNError(f"a worker process could not start: {message.decode()}")

    def _replace(self, dead: _Worker) -> _Worker | None:
        """A fresh worker in place of one that died (None once closed, or when the fresh
        one cannot start: the pool then goes on with one fewer)."""
        with self._condition:
            if dead in self._workers:
                self._workers.remove(dead)
        dead.stop(timeout=1.0)
        if self._closed:
            return None
        worker = self._spawn()
        try:
            self._await_ready(worker)
        except ScratchCNNError:
            with self._condition:
                self._workers.remove(worker)
            worker.stop(timeout=1.0)
            return None
        return worker


def serve_requests(
    connection: Connection,
    data: tuple[str, list[tuple[str, str, list[int], bytes]]],
    source: str,
) -> None:
    """A worker's life: rebuild the model, say ready, then answer requests until EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"  # one BLAS thread each: the workers share the cores
    try:
        import numpy as np

        from scratchcnn.explain import DigitExplainer
        from scratchcnn.model import Sequential

        header_text, arrays = data
        header = json.loads(header_text)
        model = Sequential.from_config(header["config"])
        model.load_state_dict(
            {
                key: np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
                for key, dtype, shape, raw in arrays
            }
        )
        model.metadata = header["metadata"]
        explainer = DigitExplainer(model, source)
    except Exception as exc:  # told to the pool, which raises it where it was started
        connection.send_bytes(f"{type(exc).__name__}: {exc}".encode())
        return
    connection.send_bytes(_READY)
    while True:
        try:
            requests = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(explainer.respond_batch(requests))

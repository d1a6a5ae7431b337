"""Latency and throughput of ``scratchcnn serve`` with the bundled model.

Starts ``python -m scratchcnn serve --port 0`` (with ``--workers N`` when given) in a child
process and sends it ``POST /api/predict`` requests from 1 and from 16 client threads, each
on its own keep-alive connection: ``pixels`` (JSON, a 28x28 digit), ``png`` (a 7 as the
page sends it while drawing: the 280x280 pad scaled to 112x112) and ``photo`` (a 733x550
phone-like JPEG from :mod:`scratchcnn.synthetic_photos`). Images go through the same
preprocessing as ``scratchcnn predict``. Every answer is the full one the page uses
(prediction, input, feature maps, saliency). For each case it prints the fastest, median
and 99th percentile latency and the requests per second over the whole run (the fastest
request shows the cost without queueing when other jobs load the machine).

The baseline, measured in this process first, is :meth:`DigitExplainer.explain` called
directly (no HTTP, no JSON): the ``x base`` column is each case's median latency over
that one, so a slower or busier machine moves both. Target: p99 at most 50 ms with 16
clients on 2 cores.

Usage::

    python benchmarks/bench_serve.py [--requests N] [--clients 1,16] [--workers N]
                                     [--cases pixels,png,photo]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import subprocess
import sys
import threading
import time
from importlib import resources

import machine

# The benchmark measures what OpenBLAS picks by itself.
machine.use_the_users_blas()

import numpy as np  # noqa: E402

from scratchcnn.cli.serve_cmd import default_workers  # noqa: E402
from scratchcnn.explain import DigitExplainer  # noqa: E402
from scratchcnn.images import load_image_as_mnist  # noqa: E402
from scratchcnn.persistence import load  # noqa: E402

#: The size the page sends its drawing at (``SEND_SIZE`` in web/app.js).
SEND_SIZE = 112


def canvas_png() -> bytes:
    """A 7 as the page sends it while drawing: the 280x280 pad (white pen strokes 22
    pixels wide on black) scaled to 112x112 with smoothing, as an RGBA PNG (``sendDrawing``
    in web/app.js)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).line(
        [(70, 62), (205, 58), (165, 130), (118, 228)], fill=(255, 255, 255, 255), width=22, joint="curve"
    )
    image = image.resize((SEND_SIZE, SEND_SIZE), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def photo_jpeg() -> bytes:
    """A phone-like photo of a digit on paper (:mod:`scratchcnn.synthetic_photos`, seed 0),
    built from a 7 drawn in 28x28 so that the benchmark needs no data set."""
    from scratchcnn.synthetic_photos import make_photo

    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[6:9, 7:21] = 255
    for row in range(9, 23):
        column = 20 - (row - 9) * 8 // 14
        digit[row, column - 1 : column + 2] = 255
    data, _ = make_photo(digit, np.random.default_rng(0))
    return data


def start_server(workers: int | None) -> tuple[subprocess.Popen, int, int]:
    command = [sys.executable, "-m", "scratchcnn", "serve", "--port", "0", "--lang", "en"]
    if workers is not None:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline()
    if "http://127.0.0.1:" not in line:
        process.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return process, port, workers if workers is not None else default_workers()


def run_case(port: int, body: bytes, kind: str, clients: int, per_client: int) -> tuple:
    latencies: list[float] = []
    failures = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", "/api/model")  # connect before the clock starts
        connection.getresponse().read()
        mine = []
        barrier.wait()
        for _ in range(per_client):
            start = time.perf_counter()
            connection.request("POST", "/api/predict", body, {"Content-Type": kind})
            response = connection.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200 or b'"digit":' not in data:
                failures.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ms = np.array(latencies) * 1e3
    return ms.min(), np.percentile(ms, 50), np.percentile(ms, 99), len(ms) / wall, len(failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=480, help="requests per case (default 480)")
    parser.add_argument("--clients", default="1,16", help="client counts (default 1,16)")
    parser.add_argument(
        "--workers", type=int, help="the server's --workers (default: the server's default)"
    )
    parser.add_argument(
        "--cases", default="pixels,png,photo", help="request kinds (default pixels,png,photo)"
    )
    args = parser.parse_args()
    client_counts = [int(c) for c in args.clients.split(",")]

    with resources.as_file(resources.files("scratchcnn") / "models/demo.npz") as path:
        explainer = DigitExplainer(load(path), "bundled")
    png, photo = canvas_png(), photo_jpeg()
    pixels = load_image_as_mnist(io.BytesIO(png))
    for _ in range(20):
        explainer.explain(pixels)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        explainer.explain(pixels)
        times.append(time.perf_counter() - start)
    base = float(np.median(times)) * 1e3
    fastest = float(np.min(times)) * 1e3

    print(machine.describe())
    print(
        f"baseline: DigitExplainer.explain in-process, median {base:.2f} ms, fastest {fastest:.2f} ms"
    )
    bodies = {
        "pixels": (json.dumps({"pixels": pixels.ravel().tolist()}).encode(), "application/json"),
        "png": (png, "image/png"),
        "photo": (photo, "image/jpeg"),
    }
    process, port, workers = start_server(args.workers)
    print(f"server: scratchcnn serve --workers {workers}")
    header = f"{'request':<8} {'clients':>7} {'requests':>8} {'min ms':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'x base':>7} {'failed':>6}"
    print(header)
    print("-" * len(header))
    try:
        for name in args.cases.split(","):
            body, kind = bodies[name]
            run_case(port, body, kind, 2, 10)  # warm up
            for clients in client_counts:
                per_client = max(1, args.requests // clients)
                low, p50, p99, rate, failed = run_case(port, body, kind, clients, per_client)
                print(
                    f"{name:<8} {clients:>7} {clients * per_client:>8} {low:>7.1f} {p50:>8.1f} {p99:>8.1f}"
                    f" {rate:>8.0f} {p50 / base:>7.1f} {failed:>6}"
                )
    finally:
        process.terminate()
        process.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

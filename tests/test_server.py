"""The demo's HTTP server: hostile requests get the right 4xx and the server keeps serving;
concurrent clients all get right answers; SIGTERM and Ctrl-C stop it cleanly."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import bundled_model, digit_png, one_pixels

from scratchcnn.cli.serve_cmd import default_workers
from scratchcnn.explain import DigitExplainer
from scratchcnn.images import load_image_as_mnist
from scratchcnn.presets import build_model
from scratchcnn.server import MAX_BODY_BYTES, make_server

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def explainer():
    return DigitExplainer(bundled_model(), "bundled")


@pytest.fixture(scope="module")
def server(explainer):
    demo = make_server(explainer, "127.0.0.1", 0)
    thread = threading.Thread(target=demo.serve_forever, daemon=True)
    thread.start()
    yield demo
    demo.shutdown()
    demo.server_close()
    thread.join(5)


def raw_request(port: int, data: bytes, close_write: bool = False) -> tuple[int, dict]:
    """Send raw bytes and parse one response: (status, JSON body or {})."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, {}


def post(body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def get(path: str, method: str = "GET", host: str = "127.0.0.1") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode()


def pixels_json(values) -> bytes:
    return json.dumps({"pixels": values}).encode()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


PNG = digit_png("1")
GOOD = [0] * 784
HOSTILE = [
    # (name, raw request, close the write side after sending, expected status)
    (
        "body announced beyond the limit",
        post(b"")[:-2].replace(
            b"Content-Length: 0", f"Content-Length: {MAX_BODY_BYTES + 1}".encode()
        )
        + b"\r\n",
        False,
        413,
    ),
    (
        "a terabyte announced",
        post(b"").replace(b"Content-Length: 0", b"Content-Length: 1099511627776"),
        False,
        413,
    ),
    ("truncated body", post(pixels_json(GOOD))[:-100], True, 400),
    ("no Content-Length", post(b"{}").replace(b"Content-Length: 2\r\n", b""), True, 411),
    (
        "chunked body",
        post(b"").replace(b"Content-Length: 0", b"Transfer-Encoding: chunked"),
        True,
        411,
    ),
    (
        "Content-Length not a number",
        post(b"").replace(b"Content-Length: 0", b"Content-Length: -5"),
        False,
        400,
    ),
    ("bad JSON", post(b'{"pixels": [1, 2'), False, 400),
    ("empty JSON body", post(b""), False, 400),
    ("JSON not an object", post(b"[1, 2, 3]"), False, 400),
    ("no pixels field", post(b'{"pixel": []}'), False, 400),
    ("NaN pixels", post(b'{"pixels": [NaN' + b", 0" * 783 + b"]}"), False, 400),
    ("Infinity pixels", post(b'{"pixels": [Infinity' + b", 0" * 783 + b"]}"), False, 400),
    ("huge integer pixel", post(pixels_json([10**400, *GOOD[1:]])), False, 400),
    ("integer of 5000 digits", post(b'{"pixels": [' + b"9" * 5000 + b"]}"), False, 400),
    ("pixel above 255", post(pixels_json([256, *GOOD[1:]])), False, 400),
    ("negative pixel", post(pixels_json([-1, *GOOD[1:]])), False, 400),
    ("string pixel", post(pixels_json(["7", *GOOD[1:]])), False, 400),
    ("boolean pixel", post(pixels_json([True, *GOOD[1:]])), False, 400),
    ("null pixel", post(pixels_json([None, *GOOD[1:]])), False, 400),
    ("783 pixels", post(pixels_json(GOOD[:-1])), False, 400),
    ("785 pixels", post(pixels_json([*GOOD, 0])), False, 400),
    ("28x28 nested", post(pixels_json([[0] * 28] * 28)), False, 400),
    ("pixels not a list", post(b'{"pixels": "0000"}'), False, 400),
    ("deeply nested JSON", post(b"[" * 100_000 + b"]" * 100_000), False, 400),
    ("not UTF-8", post(b'{"pixels": "\xff\xfe"}'), False, 400),
    ("not an image", post(b"hello", "image/png"), False, 400),
    ("truncated PNG", post(PNG[: len(PNG) // 2], "image/png"), False, 400),
    ("GIF sent as PNG", post(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png"), False, 400),
    ("PNG bomb 100000x100000", post(png_declaring(100_000, 100_000), "image/png"), False, 400),
    ("blank image", post(digit_png(None), "image/png"), False, 400),
    ("unsupported content type", post(b"x", "text/plain"), False, 415),
    ("path traversal", get("/../../etc/passwd"), False, 404),
    ("encoded path traversal", get("/%2e%2e/%2e%2e/etc/passwd"), False, 404),
    ("encoded slash traversal", get("/..%2f..%2fscratchcnn/server.py"), False, 404),
    ("package file by name", get("/server.py"), False, 404),
    ("web folder path", get("/web/index.html"), False, 404),
    ("asset with a suffix", get("/app.js/../../server.py"), False, 404),
    ("absolute URL to a file", get("file:///etc/passwd"), False, 404),
    ("unknown API", get("/api/train"), False, 404),
    ("unknown route", get("/admin"), False, 404),
    ("POST to an unknown route", post(b"{}").replace(b"/api/predict", b"/api/nope"), False, 404),
    ("GET the predict API", get("/api/predict"), False, 405),
    ("PUT the predict API", get("/api/predict", "PUT"), False, 405),
    ("DELETE the page", get("/", "DELETE"), False, 405),
    ("POST the page", post(b"{}").replace(b"/api/predict", b"/"), False, 405),
    ("OPTIONS", get("/api/model", "OPTIONS"), False, 405),
    ("made-up method", get("/", "BREW"), False, 405),
    ("garbage request line", b"\x00\x01garbage\r\n\r\n", False, 400),
    ("foreign Host (DNS rebinding)", get("/api/model", host="evil.example"), False, 421),
]


@pytest.mark.parametrize(
    ("request_bytes", "close_write", "status"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
def test_hostile_requests_get_the_right_status_and_the_server_keeps_serving(
    server, request_bytes, close_write, status
):
    port = server.server_address[1]
    got, body = raw_request(port, request_bytes, close_write)
    assert got == status, body
    if status != 404 or body:
        assert isinstance(body.get("error"), str) and body["error"], body
    assert "root:" not in json.dumps(body)
    ok, answer = raw_request(port, post(pixels_json(one_pixels().ravel().tolist())))
    assert ok == 200 and answer["digit"] == 1


def test_a_body_beyond_the_limit_is_refused_without_reading_it(server):
    # The server answers 413 at once although not one byte of the body arrives.
    port = server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            + f"Content-Length: {10 * MAX_BODY_BYTES}\r\n\r\n".encode()
        )
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 413
        assert response.getheader("Connection") == "close"


def test_the_page_and_api_answer_with_their_types(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    expected = {
        "/": "text/html",
        "/index.html": "text/html",
        "/app.js": "text/javascript",
        "/style.css": "text/css",
        "/api/model": "application/json",
        "/api/messages": "application/json",
    }
    for path, kind in expected.items():
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, path
        assert response.getheader("Content-Type").startswith(kind)
        assert "default-src 'self'" in response.getheader("Content-Security-Policy")
        assert len(body) > 100
    connection.request("HEAD", "/app.js")
    response = connection.getresponse()
    assert response.status == 200 and response.read() == b""
    connection.close()


def test_model_description_names_layers_and_test_accuracy(server, explainer):
    _, model = raw_request(server.server_address[1], get("/api/model"))
    assert model["params"] == explainer.model.num_params()
    assert [layer["name"] for layer in model["layers"]] == [
        repr(layer) for layer in explainer.model
    ]
    assert sum(layer["params"] for layer in model["layers"]) == model["params"]
    assert model["layers"][-1]["output_shape"] == [10]
    assert model["test"]["accuracy"] >= 0.99 and model["test"]["images"] == 10_000
    assert model["preset"] == "fast" and model["dataset"] == "mnist"


def test_messages_carry_every_page_text_in_both_languages(server):
    from scratchcnn.i18n import MESSAGES

    _, answer = raw_request(server.server_address[1], get("/api/messages"))
    keys = {k.removeprefix("serve.page.") for k in MESSAGES if k.startswith("serve.page.")}
    assert set(answer["messages"]) == {"en", "zh"}
    for language in ("en", "zh"):
        assert set(answer["messages"][language]) == keys
    web = Path(__file__).resolve().parents[1] / "src/scratchcnn/web"
    page = (web / "index.html").read_text() + (web / "app.js").read_text()
    import re

    used = set(re.findall(r'data-i18n(?:-label)?="([a-z_]+)"', page))
    used |= set(re.findall(r'\bt\("([a-z_]+)"', page))
    assert used and used <= keys, used - keys


def test_json_and_png_answers_match_the_library(server, explainer):
    port = server.server_address[1]
    pixels = one_pixels()
    status, answer = raw_request(port, post(pixels_json(pixels.ravel().tolist())))
    assert status == 200
    assert np.array_equal(np.array(answer["input"]), pixels)
    expected = explainer.explain(pixels)
    assert answer["digit"] == expected["digit"] == 1
    np.testing.assert_allclose(answer["probabilities"], expected["probabilities"], atol=2e-6)
    status, answer = raw_request(port, post(PNG, "image/png"))
    assert status == 200
    assert np.array_equal(np.array(answer["input"]), load_image_as_mnist(io.BytesIO(PNG)))
    assert answer["digit"] == 1


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def notebook_server(request):
    """A server of the notebook's small network (random weights): the concurrency test is
    about the server's threads and batching, so the model's own time is kept small. It
    answers in its own process, then with two worker processes."""
    small = DigitExplainer(build_model("classic", seed=0), "classic")
    demo = make_server(small, "127.0.0.1", 0, workers=request.param)
    thread = threading.Thread(target=demo.serve_forever, daemon=True)
    thread.start()
    yield demo, small
    demo.shutdown()
    demo.server_close()
    thread.join(5)


@pytest.mark.slow
def test_16_concurrent_clients_times_50_requests_all_get_right_answers(notebook_server):
    server, explainer = notebook_server
    port = server.server_address[1]
    pixels = one_pixels()
    seven_png = digit_png("7")
    cases = [
        (pixels_json(pixels.ravel().tolist()), "application/json", explainer.explain(pixels)),
        (seven_png, "image/png", explainer.explain(load_image_as_mnist(io.BytesIO(seven_png)))),
    ]

    def client(index: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        right = 0
        for request in range(50):
            body, kind, expected = cases[(index + request) % 2]
            connection.request("POST", "/api/predict", body, {"Content-Type": kind})
            response = connection.getresponse()
            answer = json.loads(response.read())
            right += (
                response.status == 200
                and answer["digit"] == expected["digit"]
                and answer["input"] == expected["input"]
                # Batched and single runs differ by float32 rounding, then by the
                # rounding to 6 (probabilities) and 4 (saliency) decimals.
                and np.allclose(answer["probabilities"], expected["probabilities"], atol=3e-6)
                and np.allclose(answer["saliency"], expected["saliency"], atol=1.5e-4)
            )
        connection.close()
        return right

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(16)))
    assert results == [50] * 16


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_stops_cleanly_on_a_signal(signum, tmp_path):
    env = {**os.environ, "SCRATCHCNN_LANG": "en", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchcnn", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + process.stderr.read()
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        status, _ = raw_request(port, get("/api/model"))
        assert status == 200
        status, answer = raw_request(port, post(PNG, "image/png"))
        assert status == 200 and answer["digit"] == 1
        children = child_processes(process.pid)
        process.send_signal(signum)
        process.wait(timeout=15)
        # Read through the text wrappers: readline() may already hold the next lines
        # (communicate() would read past them from the raw pipes).
        out, err = process.stdout.read(), process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "server stopped" in out
    workers = default_workers()
    assert (f"{workers} worker process" in out) == (workers > 0), out
    assert "Traceback" not in err
    # The worker processes (one per core by default) went with it, and so did
    # multiprocessing's resource tracker, which leaves once the server has gone.
    deadline = time.monotonic() + 10
    while [pid for pid in children if os.path.exists(f"/proc/{pid}")]:
        assert time.monotonic() < deadline, f"still running: {children}"
        time.sleep(0.05)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def child_processes(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (Linux's /proc; none elsewhere)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


def test_loopback_addresses_are_told_from_exposed_ones():
    from scratchcnn.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("")


def test_a_busy_port_is_a_clear_error(server, explainer):
    from scratchcnn.errors import ScratchCNNError

    with pytest.raises(ScratchCNNError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
        make_server(explainer, "127.0.0.1", server.server_address[1])


def test_command_line_errors_are_one_line(tmp_path, capsys):
    from scratchcnn.cli import main

    assert main(["serve", str(tmp_path / "missing.npz"), "--port", "0"]) == 1
    assert "missing.npz" in capsys.readouterr().err
    assert main(["serve", "--port", "70000"]) == 2
    assert "65535" in capsys.readouterr().err

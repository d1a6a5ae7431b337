"""The web demo's HTTP server: a drawing page and a JSON API over :mod:`scratchcnn.explain`.

Routes (everything else is 404; other methods on these paths are 405):

=======================  =================================================================
``GET /``                the page (``index.html``), then ``/app.js`` and ``/style.css``
``GET /api/model``       the model: layers, parameters, preset, data set, test accuracy
``GET /api/messages``    the page's texts in every language (i18n keys ``serve.page.*``)
``POST /api/predict``    a digit as ``image/png``, ``image/jpeg`` or JSON ``{"pixels": [...]}``
=======================  =================================================================

Only the files named in :data:`ASSETS` are ever served, read once from the package, so no
path can reach anything else. A request body is limited to :data:`MAX_BODY_BYTES` (413
beyond it, refused before reading); bad requests get a JSON ``{"error": ...}`` with a 4xx
status and the server keeps serving. When bound to a loopback address the server answers
only requests whose ``Host`` names the loopback (a web page elsewhere cannot reach it by
DNS rebinding). Built on the standard library's :class:`~http.server.ThreadingHTTPServer`.
Predictions are answered by worker processes when ``make_server`` is given ``workers``
(:mod:`scratchcnn.workers`), else in this process, where the explainer's lock serialises
the network and waiting requests run as one batch.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import sys
import threading
import traceback
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TextIO
from urllib.parse import urlsplit

from scratchcnn.errors import ScratchCNNError
from scratchcnn.explain import DigitExplainer, json_bytes
from scratchcnn.i18n import LANGUAGES, MESSAGES, get_language, tr, tr_count
from scratchcnn.model import Sequential
from scratchcnn.workers import WorkerPool

#: Largest request body accepted, in bytes.
MAX_BODY_BYTES = 5 * 1024 * 1024
#: Seconds a connection may stay silent (mid-request or idle between requests).
SOCKET_TIMEOUT = 20
#: URL path -> (file in scratchcnn/web, Content-Type). Nothing else is served.
ASSETS: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
API_ROUTES = {"/api/model": "GET, HEAD", "/api/messages": "GET, HEAD", "/api/predict": "POST"}
# The page loads nothing from anywhere but this server.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to bind) reaches this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def page_messages() -> dict[str, dict[str, str]]:
    """``language -> {key: text}`` of the catalogue's ``serve.page.*`` entries (prefix dropped)."""
    prefix = "serve.page."
    return {
        language: {
            key[len(prefix) :]: texts[language]
            for key, texts in MESSAGES.items()
            if key.startswith(prefix)
        }
        for language in LANGUAGES
    }


class DemoServer(ThreadingHTTPServer):
    """A threading HTTP server holding the explainer, the assets and the page's texts."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        explainer: DigitExplainer,
        language: str | None = None,
        log: TextIO | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.explainer = explainer
        self.language = language or get_language()
        self.log = log
        self.loopback_only = is_loopback(address[0])
        web = resources.files("scratchcnn") / "web"
        self.assets = {path: (web / name).read_bytes() for path, (name, _) in ASSETS.items()}
        self.model_json = json_bytes(explainer.describe())
        self.messages_json = json_bytes(
            {"language": self.language, "languages": list(LANGUAGES), "messages": page_messages()}
        )
        #: Worker processes answering predict requests (None: this process answers).
        self.pool: WorkerPool | None = None
        super().__init__(address, DemoRequestHandler)

    def respond(self, kind: str, body: bytes) -> tuple[int, bytes]:
        """Status and JSON answer of a predict request: by a worker process when there are
        workers, else by the explainer in this process."""
        if self.pool is not None:
            return self.pool.respond(kind, body)
        return self.explainer.respond(kind, body)

    def server_close(self) -> None:
        """Close the socket, then stop the worker processes."""
        super().server_close()
        if self.pool is not None:
            self.pool.close()

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host, port = self.server_address[:2]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.log is not None:
            print(f"error while answering {client_address[0]}:", file=self.log)
            traceback.print_exc(file=self.log)


class DemoRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection's requests; see the module docstring for the routes."""

    server: DemoServer
    protocol_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK of the first (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    server_version = "scratchcnn"
    sys_version = ""

    # --- routing ---------------------------------------------------------------------
    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_OPTIONS(self) -> None:
        self._route("OPTIONS")

    def _route(self, method: str) -> None:
        try:
            self._answer(method)
        except TimeoutError:
            self.close_connection = True
            self._send_json(
                HTTPStatus.REQUEST_TIMEOUT, {"error": "the request body stopped coming"}
            )
        except Exception:
            self.close_connection = True
            self.server.handle_error(self.request, self.client_address)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def _answer(self, method: str) -> None:
        if self.server.loopback_only and not self._host_is_loopback():
            self.close_connection = True
            self._error(HTTPStatus.MISDIRECTED_REQUEST, "this server answers only http://127.0.0.1")
            return
        path = urlsplit(self.path).path
        if not (method == "POST" and path == "/api/predict"):
            self._refuse_body()
        allowed = "GET, HEAD" if path in ASSETS else API_ROUTES.get(path)
        if allowed is None:
            self._error(HTTPStatus.NOT_FOUND, f"no such page or API: {path[:200]}")
            return
        if method not in allowed.split(", "):
            self._error(
                HTTPStatus.METHOD_NOT_ALLOWED, f"{path} takes {allowed}", {"Allow": allowed}
            )
            return
        if path in ASSETS:
            self._send(HTTPStatus.OK, ASSETS[path][1], self.server.assets[path], method == "HEAD")
        elif path == "/api/model":
            self._send(HTTPStatus.OK, "application/json", self.server.model_json, method == "HEAD")
        elif path == "/api/messages":
            self._send(
                HTTPStatus.OK, "application/json", self.server.messages_json, method == "HEAD"
            )
        else:
            self._predict()

    # --- POST /api/predict ------------------------------------------------------------
    def _predict(self) -> None:
        body = self._read_body()
        if body is None:
            return
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        status, payload = self.server.respond(kind, body)
        if status == HTTPStatus.INTERNAL_SERVER_ERROR:
            if self.server.log is not None:
                print(f"error while answering {self.client_address[0]}:", file=self.server.log)
                print(json.loads(payload).get("traceback"), file=self.server.log, flush=True)
            self.close_connection = True
            payload = json_bytes({"error": "internal error"})
        self._send(HTTPStatus(status), "application/json", payload)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering why it cannot be had."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
            return None
        text = self.headers.get("Content-Length")
        if text is None:
            self.close_connection = True
            self._error(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
            return None
        if not text.strip().isdigit():
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, f"Content-Length {text[:40]!r} is not a size")
            return None
        length = int(text)
        if length > MAX_BODY_BYTES:
            # Not read: answering and closing costs nothing, however much was announced.
            self.close_connection = True
            self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length:,} bytes; at most {MAX_BODY_BYTES:,} are accepted",
            )
            return None
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            self._error(
                HTTPStatus.BAD_REQUEST,
                f"truncated body: {len(body):,} of the {length:,} bytes announced",
            )
            return None
        return body

    def _refuse_body(self) -> None:
        """Close after answering when a body came that will not be read (it would otherwise
        be taken for the next request on the connection)."""
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
            "Transfer-Encoding"
        ):
            self.close_connection = True

    def _host_is_loopback(self) -> bool:
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.lower() in _LOOPBACK_NAMES

    # --- answers ---------------------------------------------------------------------
    def _error(
        self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._send_json(status, {"error": message}, headers)

    def _send_json(
        self, status: HTTPStatus, value: Any, headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, "application/json", json_bytes(value), headers=headers)

    def _send(
        self,
        status: HTTPStatus,
        content_type: str,
        body: bytes,
        head_only: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**_SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by the standard library (bad request line, unknown method) as JSON."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: answer in 1.0
            self.request_version = "HTTP/1.0"
        status = HTTPStatus(code)
        if status == HTTPStatus.NOT_IMPLEMENTED:
            status = HTTPStatus.METHOD_NOT_ALLOWED
        self._send_json(status, {"error": message or status.phrase})

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            print(f"{self.address_string()} {format % args}", file=self.server.log, flush=True)


def make_server(
    model: Sequential | DigitExplainer,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    source: str = "model",
    language: str | None = None,
    log: TextIO | None = None,
    workers: int = 0,
) -> DemoServer:
    """A bound, not yet running, demo server (``port=0`` picks a free port).

    With ``workers`` > 0, predict requests are answered by that many worker processes
    (:class:`~scratchcnn.workers.WorkerPool`), started before this returns; with 0 (the
    default), by this process. ``server_close()`` stops the workers. Raises
    :class:`ScratchCNNError` when the address cannot be bound or a worker cannot start.
    """
    explainer = model if isinstance(model, DigitExplainer) else DigitExplainer(model, source)
    try:
        server = DemoServer((host, port), explainer, language=language, log=log)
    except OSError as exc:
        raise ScratchCNNError(
            tr("serve.cannot_listen", host=host, port=port, reason=exc.strerror or exc),
            hint=tr("serve.cannot_listen_hint"),
        ) from None
    if workers:
        try:
            server.pool = WorkerPool(explainer.model, explainer.source, workers)
        except BaseException:
            server.server_close()
            raise
    return server


def serve(
    model: Sequential | DigitExplainer,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    source: str = "model",
    language: str | None = None,
    open_browser: bool = False,
    out: TextIO | None = None,
    log: TextIO | None = None,
    workers: int = 0,
) -> None:
    """Serve the demo until Ctrl-C (SIGINT) or SIGTERM, then close the socket and return.

    Prints the address to ``out`` (default stdout), a warning to stderr when ``host`` is
    not a loopback address, and request lines to ``log`` (default: none). ``workers``: see
    :func:`make_server`.
    """
    out = out or sys.stdout
    server = make_server(
        model, host, port, source=source, language=language, log=log, workers=workers
    )
    if not server.loopback_only:
        print(tr("serve.exposed", host=host), file=sys.stderr, flush=True)
    print(tr("serve.listening", model=source, url=server.url), file=out, flush=True)
    if server.pool is not None:
        print(tr_count("serve.workers", server.pool.size), file=out, flush=True)
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
    try:
        if open_browser:
            webbrowser.open(server.url)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    print(tr("serve.stopped"), file=out, flush=True)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM stops the server the way Ctrl-C does (in the main thread, between requests)."""
    raise KeyboardInterrupt

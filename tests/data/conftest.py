"""Fixtures for the data tests: tiny registered data sets and a local HTTP server."""

from __future__ import annotations

import gzip
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.data import registry
from scratchcnn.data.idx import write_idx
from scratchcnn.data.registry import DataFile, DataSet, SplitFiles

FILE_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
TINY_COUNTS = {"train": 20, "test": 10}


@dataclass
class TinyDataSet:
    """A small registered data set whose published files sit in ``folder``."""

    dataset: DataSet
    folder: Path
    arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.dataset.name

    def file_names(self) -> list[str]:
        return [f.name for f in self.dataset.files()]


def _data_file(path: Path, count: int) -> DataFile:
    packed = path.read_bytes()
    content = gzip.decompress(packed)
    return DataFile(
        name=path.name,
        size=len(packed),
        sha256=hashlib.sha256(packed).hexdigest(),
        content_size=len(content),
        content_sha256=hashlib.sha256(content).hexdigest(),
        count=count,
    )


def make_tiny_dataset(name: str, folder: Path, seed: int) -> TinyDataSet:
    """Write four small gzip IDX files into ``folder`` and describe them as a DataSet."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    arrays = {}
    for split, count in TINY_COUNTS.items():
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = (np.arange(count) % 10).astype(np.uint8)
        images_name, labels_name = FILE_NAMES[split]
        write_idx(folder / images_name, images)
        write_idx(folder / labels_name, labels)
        splits[split] = SplitFiles(
            _data_file(folder / images_name, count), _data_file(folder / labels_name, count)
        )
        arrays[split] = (images, labels)
    dataset = DataSet(
        name=name,
        title=f"test data set {name}",
        license="test",
        splits=splits,
        class_names=tuple(str(digit) for digit in range(10)),
    )
    return TinyDataSet(dataset, folder, arrays)


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TinyDataSet:
    """A registered data set ``tiny`` (20 train, 10 test images); files in ``tiny.folder``."""
    data = make_tiny_dataset("tiny", tmp_path / "published" / "tiny", seed=1)
    monkeypatch.setitem(registry.DATASETS, "tiny", data.dataset)
    monkeypatch.delenv("SCRATCHCNN_DATA", raising=False)
    monkeypatch.delenv("SCRATCHCNN_MIRRORS", raising=False)
    return data


@pytest.fixture
def tiny_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TinyDataSet:
    """A second registered data set, ``tiny-other``, with the same file names as ``tiny``."""
    data = make_tiny_dataset("tiny-other", tmp_path / "published" / "tiny-other", seed=2)
    monkeypatch.setitem(registry.DATASETS, "tiny-other", data.dataset)
    return data


@dataclass
class LocalServer:
    """A real HTTP server on 127.0.0.1 serving ``root``; ``requests`` logs each GET path."""

    root: Path
    url: str
    requests: list[str]

    def serve(self, subfolder: str, source: Path, names: list[str]) -> str:
        """Copy ``names`` from ``source`` under ``subfolder``; returns that base URL."""
        target = self.root / subfolder
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            (target / name).write_bytes((source / name).read_bytes())
        return f"{self.url}/{subfolder}/"


class _QuietHandler(SimpleHTTPRequestHandler):
    request_log: list[str]

    def do_GET(self) -> None:
        self.request_log.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    """Serve ``tmp_path/www`` over HTTP on 127.0.0.1, bypassing any proxy settings."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    root = tmp_path / "www"
    root.mkdir()
    log: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"request_log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield LocalServer(root, f"http://127.0.0.1:{server.server_address[1]}", log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"

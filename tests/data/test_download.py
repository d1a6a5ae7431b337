"""Downloads against a real HTTP server on 127.0.0.1: mirrors, checksums, offline errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scratchcnn import datasets
from scratchcnn.data.cache import download_folder
from scratchcnn.data.download import download_files, mirrors_for
from scratchcnn.data.registry import MNIST_MIRRORS, get_dataset
from scratchcnn.errors import DataError, DownloadError


def listing(folder: Path) -> list[str]:
    """Every entry under ``folder``, hidden temporary files included."""
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_first_mirror_down_second_serves(tiny, http_server, closed_port_url, tmp_path) -> None:
    good = http_server.serve("good", tiny.folder, tiny.file_names())
    destination = tmp_path / "out"
    fetched = download_files(
        tiny.dataset, tiny.dataset.files(), destination, mirrors=[closed_port_url, good]
    )
    assert [item.url for item in fetched] == [good + name for name in tiny.file_names()]
    assert listing(destination) == sorted(tiny.file_names())
    for name in tiny.file_names():
        assert (destination / name).read_bytes() == (tiny.folder / name).read_bytes()


def test_missing_file_on_first_mirror_falls_back(tiny, http_server, tmp_path) -> None:
    partial = http_server.serve("partial", tiny.folder, tiny.file_names()[:1])
    full = http_server.serve("full", tiny.folder, tiny.file_names())
    fetched = download_files(
        tiny.dataset, tiny.dataset.files(), tmp_path / "out", mirrors=[partial, full]
    )
    assert fetched[0].url == partial + tiny.file_names()[0]
    assert all(item.url.startswith(full) for item in fetched[1:])


def test_corrupt_file_is_rejected_and_not_kept(tiny, http_server, tmp_path) -> None:
    names = tiny.file_names()
    bad = http_server.serve("bad", tiny.folder, names)
    damaged = bytearray((http_server.root / "bad" / names[0]).read_bytes())
    damaged[-5] ^= 0x55
    (http_server.root / "bad" / names[0]).write_bytes(bytes(damaged))
    destination = tmp_path / "out"
    data_file = tiny.dataset.files()[0]
    with pytest.raises(DownloadError) as info:
        download_files(tiny.dataset, [data_file], destination, mirrors=[bad])
    assert "checksum mismatch" in str(info.value)
    assert names[0] in str(info.value)
    assert listing(destination) == []


def test_corrupt_mirror_then_good_mirror(tiny, http_server, tmp_path) -> None:
    names = tiny.file_names()
    bad = http_server.serve("bad", tiny.folder, names)
    (http_server.root / "bad" / names[0]).write_bytes(b"not the file at all")
    good = http_server.serve("good", tiny.folder, names)
    destination = tmp_path / "out"
    fetched = download_files(
        tiny.dataset, tiny.dataset.files()[:1], destination, mirrors=[bad, good]
    )
    assert fetched[0].url == good + names[0]
    assert listing(destination) == [names[0]]


def test_oversized_response_is_rejected(tiny, http_server, tmp_path) -> None:
    names = tiny.file_names()
    big = http_server.serve("big", tiny.folder, names)
    target = http_server.root / "big" / names[0]
    target.write_bytes(target.read_bytes() + bytes(1 << 20))
    with pytest.raises(DownloadError, match="larger than the expected"):
        download_files(tiny.dataset, tiny.dataset.files()[:1], tmp_path / "out", mirrors=[big])
    assert listing(tmp_path / "out") == []


def test_offline_message_names_files_and_fixes(tiny, closed_port_url, tmp_path) -> None:
    destination = tmp_path / "out"
    with pytest.raises(DownloadError) as info:
        download_files(tiny.dataset, tiny.dataset.files(), destination, mirrors=[closed_port_url])
    message = str(info.value)
    for name in tiny.file_names():
        assert name in message
    assert "no mirror could be reached" in message and "[tried" not in message
    # The way that needs no network comes first.
    assert message.index("--dataset mnist-sample") < message.index("SCRATCHCNN_DATA")
    assert "SCRATCHCNN_DATA" in message and "tiny/<these files>" in message
    assert "--data-dir" in message
    assert listing(destination) == []


def test_load_downloads_into_the_cache(tiny, http_server, closed_port_url, monkeypatch) -> None:
    http_server.serve("tiny", tiny.folder, tiny.file_names())
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", f"{closed_port_url} , {http_server.url}/{{name}}")
    images, labels = datasets.load("tiny", "test")
    assert images.shape == (10, 28, 28) and labels.shape == (10,)
    cache = download_folder("tiny")
    assert listing(cache) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert datasets.locate("tiny", "test").source == "cache"
    served = len(http_server.requests)
    datasets.load("tiny", "test")
    assert len(http_server.requests) == served


def test_load_offline_raises_download_error(tiny, closed_port_url, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", closed_port_url)
    with pytest.raises(DownloadError, match=r"t10k-images-idx3-ubyte\.gz"):
        datasets.load("tiny", "test")
    assert listing(download_folder("tiny")) == []


def test_present_files_are_not_fetched_again(tiny, http_server, tmp_path) -> None:
    good = http_server.serve("good", tiny.folder, tiny.file_names())
    destination = tmp_path / "out"
    download_files(tiny.dataset, tiny.dataset.files(), destination, mirrors=[good])
    requests_made = len(http_server.requests)
    again = download_files(tiny.dataset, tiny.dataset.files(), destination, mirrors=[good])
    assert len(http_server.requests) == requests_made
    assert all(item.url is None for item in again)


def test_damaged_local_copy_is_replaced(tiny, http_server, tmp_path) -> None:
    good = http_server.serve("good", tiny.folder, tiny.file_names())
    destination = tmp_path / "out"
    destination.mkdir()
    name = tiny.file_names()[0]
    (destination / name).write_bytes(b"damaged")
    download_files(tiny.dataset, tiny.dataset.files()[:1], destination, mirrors=[good])
    assert (destination / name).read_bytes() == (tiny.folder / name).read_bytes()


def test_missing_pooch_gives_install_hint(tiny, monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "pooch", None)
    with pytest.raises(DownloadError) as info:
        download_files(tiny.dataset, tiny.dataset.files(), tmp_path / "out", mirrors=["http://x/"])
    assert "pip install 'scratchcnn[data]'" in str(info.value)


def test_unwritable_destination_is_a_data_error(tiny, http_server, tmp_path) -> None:
    good = http_server.serve("good", tiny.folder, tiny.file_names())
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(DataError, match="cannot write"):
        download_files(tiny.dataset, tiny.dataset.files()[:1], blocker / "sub", mirrors=[good])


def test_mirror_list_sources(tiny, monkeypatch) -> None:
    assert mirrors_for(tiny.dataset, ["http://a/{name}", "http://b/"]) == [
        "http://a/tiny/",
        "http://b/",
    ]
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", "http://c/,http://d/x/ http://e")
    assert mirrors_for(tiny.dataset) == ["http://c/", "http://d/x/", "http://e/"]
    monkeypatch.delenv("SCRATCHCNN_MIRRORS")
    assert mirrors_for(get_dataset("mnist")) == list(MNIST_MIRRORS)
    assert MNIST_MIRRORS[0].startswith("https://ossci-datasets.s3.amazonaws.com/")

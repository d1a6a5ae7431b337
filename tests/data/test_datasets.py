"""datasets.load: lookup order, checks of local files, the decoded cache, the bundled sample."""

from __future__ import annotations

import gzip
import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scratchcnn import datasets
from scratchcnn.data import cache, registry
from scratchcnn.data.cache import cache_root, download_folder
from scratchcnn.data.idx import read_idx, write_idx
from scratchcnn.errors import DataError

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def decoded_entries(name: str = "") -> list[Path]:
    return sorted((cache_root() / "decoded").glob(f"{name}*.decoded"))


# The bundled sample.


@pytest.mark.parametrize(("split", "per_digit"), [("train", 400), ("test", 100)])
def test_sample_loads_offline(split: str, per_digit: int, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.delenv("SCRATCHCNN_DATA", raising=False)
    images, labels = datasets.load("mnist-sample", split)
    assert images.shape == (10 * per_digit, 28, 28) and labels.shape == (10 * per_digit,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert images.flags.c_contiguous and labels.flags.c_contiguous
    assert np.bincount(labels).tolist() == [per_digit] * 10
    assert labels[:20].tolist() == list(range(10)) * 2


def test_sample_ignores_data_dir_and_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(tmp_path))
    location = datasets.locate("mnist-sample", "train", data_dir=tmp_path)
    assert location is not None and location.source == "package"


def test_packaged_sample_files_match_the_registry() -> None:
    sample = registry.get_dataset("mnist-sample")
    for data_file in sample.files():
        packed = (registry.SAMPLE_DIR / data_file.name).read_bytes()
        assert len(packed) == data_file.size
        assert hashlib.sha256(packed).hexdigest() == data_file.sha256
        content = gzip.decompress(packed)
        assert len(content) == data_file.content_size
        assert hashlib.sha256(content).hexdigest() == data_file.content_sha256


def test_sample_is_the_first_500_training_images_of_each_digit(shared_data_dir: Path) -> None:
    canonical_images = read_idx(shared_data_dir / "mnist" / "train-images-idx3-ubyte.gz")
    canonical_labels = read_idx(shared_data_dir / "mnist" / "train-labels-idx1-ubyte.gz")
    train_images, train_labels = datasets.load("mnist-sample", "train")
    test_images, test_labels = datasets.load("mnist-sample", "test")
    for digit in range(10):
        canonical = canonical_images[np.flatnonzero(canonical_labels == digit)[:500]]
        np.testing.assert_array_equal(train_images[train_labels == digit], canonical[:400])
        np.testing.assert_array_equal(test_images[test_labels == digit], canonical[400:])


# The canonical data sets (need SCRATCHCNN_DATA).


@pytest.mark.slow
def test_mnist_class_counts_and_decoded_cache(shared_data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(shared_data_dir))
    start = time.perf_counter()
    images, labels = datasets.load("mnist", "train")
    first = time.perf_counter() - start
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert images.flags.c_contiguous
    assert np.bincount(labels, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert len(decoded_entries("mnist-train")) == 1

    start = time.perf_counter()
    again_images, again_labels = datasets.load("mnist", "train")
    second = time.perf_counter() - start
    np.testing.assert_array_equal(again_images, images)
    np.testing.assert_array_equal(again_labels, labels)
    assert second < 1.0, f"second load took {second:.3f}s (first {first:.3f}s)"

    _, test_labels = datasets.load("mnist", "test")
    assert np.bincount(test_labels, minlength=10).tolist() == MNIST_TEST_COUNTS


def test_fashion_mnist_test_split(shared_fashion_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(shared_fashion_dir))
    images, labels = datasets.load("fashion-mnist", "test")
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [1000] * 10
    assert datasets.class_names("fashion-mnist")[9] == "Ankle boot"


# Names, splits, class names.


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(DataError) as info:
        datasets.load("cifar")
    for name in ("mnist", "fashion-mnist", "mnist-sample"):
        assert name in str(info.value)


def test_unknown_split_lists_choices() -> None:
    with pytest.raises(DataError, match="train, test"):
        datasets.load("mnist-sample", "validation")


def test_names_and_class_names() -> None:
    assert datasets.NAMES == ("mnist", "fashion-mnist", "mnist-sample")
    assert datasets.class_names("mnist") == [str(d) for d in range(10)]
    assert datasets.class_names("fashion-mnist")[:3] == ["T-shirt/top", "Trouser", "Pullover"]
    assert len(datasets.class_names("fashion-mnist")) == 10


# Lookup order, with the tiny registered data sets.


def copy_files(source: Path, target: Path, names: list[str]) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        (target / name).write_bytes((source / name).read_bytes())
    return target


def test_lookup_order(tiny, tmp_path, monkeypatch) -> None:
    names = tiny.file_names()
    assert datasets.locate("tiny", "train") is None
    copy_files(tiny.folder, download_folder("tiny"), names)
    assert datasets.locate("tiny", "train").source == "cache"
    env_root = tmp_path / "env"
    copy_files(tiny.folder, env_root / "tiny", names)
    monkeypatch.setenv("SCRATCHCNN_DATA", str(env_root))
    assert datasets.locate("tiny", "train").source == "SCRATCHCNN_DATA"
    nested = tmp_path / "nested"
    copy_files(tiny.folder, nested / "tiny", names)
    location = datasets.locate("tiny", "train", data_dir=nested)
    assert (location.source, location.folder) == ("--data-dir", nested / "tiny")
    direct = copy_files(tiny.folder, tmp_path / "direct", names)
    assert datasets.locate("tiny", "train", data_dir=direct).folder == direct
    images, labels = datasets.load("tiny", "train", data_dir=direct)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])
    np.testing.assert_array_equal(labels, tiny.arrays["train"][1])


def test_data_dir_without_the_files_falls_through(tiny, tmp_path) -> None:
    copy_files(tiny.folder, download_folder("tiny"), tiny.file_names())
    assert datasets.locate("tiny", "test", data_dir=tmp_path).source == "cache"


def test_system_folder_with_recompressed_files(tiny, tmp_path, monkeypatch) -> None:
    system = tmp_path / "usr-share"
    system.mkdir()
    for name in tiny.file_names():
        content = gzip.decompress((tiny.folder / name).read_bytes())
        (system / name).write_bytes(gzip.compress(content, compresslevel=1, mtime=1234))
    dataset = registry.DATASETS["tiny"]
    monkeypatch.setitem(registry.DATASETS, "tiny", replace(dataset, system_dirs=(system,)))
    assert datasets.locate("tiny", "test").source == "system"
    images, _ = datasets.load("tiny", "test")
    np.testing.assert_array_equal(images, tiny.arrays["test"][0])
    assert {check.status for check in datasets.verify("tiny")} == {"OK (recompressed)"}


def test_uncompressed_files_are_accepted(tiny, tmp_path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in tiny.file_names():
        content = gzip.decompress((tiny.folder / name).read_bytes())
        (folder / name.removesuffix(".gz")).write_bytes(content)
    images, _ = datasets.load("tiny", "train", data_dir=folder)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])
    assert {check.status for check in datasets.verify("tiny", folder)} == {"OK"}


def test_missing_data_dir_is_an_error(tiny, tmp_path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        datasets.load("tiny", data_dir=tmp_path / "typo")


def test_missing_environment_folder_is_an_error(tiny, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCRATCHCNN_DATA", str(tmp_path / "typo"))
    with pytest.raises(DataError, match="SCRATCHCNN_DATA"):
        datasets.load("tiny")


def test_files_of_another_data_set_are_named(tiny, tiny_other) -> None:
    with pytest.raises(DataError) as info:
        datasets.load("tiny", "train", data_dir=tiny_other.folder)
    message = str(info.value)
    assert "not the published tiny train images file" in message
    assert "tiny-other's train-images-idx3-ubyte.gz" in message


def test_modified_file_is_rejected(tiny, tmp_path) -> None:
    folder = copy_files(tiny.folder, tmp_path / "edited", tiny.file_names())
    images = tiny.arrays["train"][0].copy()
    images[0, 0, 0] ^= 1
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(DataError, match="SHA-256 of its uncompressed content"):
        datasets.load("tiny", "train", data_dir=folder)


def test_wrong_shape_is_rejected(tiny, tmp_path) -> None:
    folder = copy_files(tiny.folder, tmp_path / "short", tiny.file_names())
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(9, dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \(9,\)"):
        datasets.load("tiny", "test", data_dir=folder)


def test_damaged_local_file_is_a_data_error(tiny, tmp_path) -> None:
    folder = copy_files(tiny.folder, tmp_path / "cut", tiny.file_names())
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz"):
        datasets.load("tiny", "train", data_dir=folder)


# The decoded-array cache.


def test_second_load_comes_from_the_decoded_cache(tiny, monkeypatch) -> None:
    datasets.load("tiny", "train", data_dir=tiny.folder)
    assert len(decoded_entries("tiny-train")) == 1

    def no_parsing(path):
        raise AssertionError(f"parsed {path} again instead of using the cache")

    monkeypatch.setattr(datasets, "read_idx_with_digest", no_parsing)
    images, _ = datasets.load("tiny", "train", data_dir=tiny.folder)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])


def test_damaged_cache_entry_is_rebuilt(tiny) -> None:
    datasets.load("tiny", "train", data_dir=tiny.folder)
    (entry,) = decoded_entries("tiny-train")
    damaged = bytearray(entry.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    entry.write_bytes(bytes(damaged))
    images, _ = datasets.load("tiny", "train", data_dir=tiny.folder)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])
    (rebuilt,) = decoded_entries("tiny-train")
    assert rebuilt.read_bytes() != bytes(damaged)


def test_truncated_cache_entry_is_rebuilt(tiny) -> None:
    datasets.load("tiny", "train", data_dir=tiny.folder)
    (entry,) = decoded_entries("tiny-train")
    entry.write_bytes(entry.read_bytes()[:1000])
    images, _ = datasets.load("tiny", "train", data_dir=tiny.folder)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])


def test_limit_reads_only_the_first_images_from_the_cache(tiny, monkeypatch) -> None:
    images, labels = tiny.arrays["train"]
    first, first_labels = datasets.load("tiny", "train", data_dir=tiny.folder, limit=7)
    np.testing.assert_array_equal(first, images[:7])  # built the entry, returned a prefix
    np.testing.assert_array_equal(first_labels, labels[:7])
    monkeypatch.setattr(cache, "BLOCK_IMAGES", 4)  # blocks of 4: a prefix ends mid-block
    (entry,) = decoded_entries("tiny-train")
    entry.unlink()
    datasets.load("tiny", "train", data_dir=tiny.folder)
    for limit in (0, 3, 4, 6, len(images), len(images) + 5):
        got, got_labels = datasets.load("tiny", "train", data_dir=tiny.folder, limit=limit)
        np.testing.assert_array_equal(got, images[:limit])
        np.testing.assert_array_equal(got_labels, labels[:limit])
    assert len(decoded_entries("tiny-train")) == 1


def test_damage_beyond_a_limit_is_found_by_the_next_full_load(tiny, monkeypatch) -> None:
    monkeypatch.setattr(cache, "BLOCK_IMAGES", 4)
    datasets.load("tiny", "train", data_dir=tiny.folder)
    (entry,) = decoded_entries("tiny-train")
    damaged = bytearray(entry.read_bytes())
    damaged[-1] ^= 0xFF  # the last image, in the last block
    entry.write_bytes(bytes(damaged))

    def no_parsing(path):
        raise AssertionError(f"parsed {path} although the wanted blocks are sound")

    with monkeypatch.context() as patch:
        patch.setattr(datasets, "read_idx_with_digest", no_parsing)
        got, _ = datasets.load("tiny", "train", data_dir=tiny.folder, limit=4)
    np.testing.assert_array_equal(got, tiny.arrays["train"][0][:4])
    images, _ = datasets.load("tiny", "train", data_dir=tiny.folder)
    np.testing.assert_array_equal(images, tiny.arrays["train"][0])
    (rebuilt,) = decoded_entries("tiny-train")
    assert rebuilt.read_bytes() != bytes(damaged)


def test_changed_source_is_never_served_stale(tiny, tiny_other, tmp_path) -> None:
    folder = copy_files(tiny.folder, tmp_path / "src", tiny.file_names())
    datasets.load("tiny", "train", data_dir=folder)
    for name in tiny.file_names():
        (folder / name).write_bytes((tiny_other.folder / name).read_bytes())
    os.utime(folder / "train-images-idx3-ubyte.gz", ns=(1, 1))
    with pytest.raises(DataError, match="tiny-other"):
        datasets.load("tiny", "train", data_dir=folder)


def test_replaced_source_gets_a_new_entry(tiny, tmp_path) -> None:
    folder = copy_files(tiny.folder, tmp_path / "src", tiny.file_names())
    datasets.load("tiny", "train", data_dir=folder)
    (first,) = decoded_entries("tiny-train")
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes())
    os.utime(path, ns=(5, 5))
    datasets.load("tiny", "train", data_dir=folder)
    (second,) = decoded_entries("tiny-train")
    assert first != second


def test_unwritable_cache_does_not_fail_the_load(tiny, tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(blocker))
    images, _ = datasets.load("tiny", "test", data_dir=tiny.folder)
    assert images.shape == (10, 28, 28)


def test_cache_location_follows_xdg(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SCRATCHCNN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "scratchcnn"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "scratchcnn"


def test_a_negative_limit_is_a_clear_error(tiny) -> None:
    with pytest.raises(ValueError, match="limit must be a number of images"):
        datasets.load("tiny", "train", data_dir=tiny.folder, limit=-1)


def test_the_short_name_is_the_same_module():
    import scratchcnn.data.datasets as inside
    import scratchcnn.datasets as short
    from scratchcnn import datasets as imported

    assert short is inside and imported is inside and short.load is inside.load

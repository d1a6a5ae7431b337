"""Throughput of the engine against PyTorch on the CPU, measured in the same process.

Two networks, each trained with plain SGD on random 28x28 images (one training step =
forward, softmax cross-entropy, backward, SGD update) and run in inference mode:

- the notebook's network: Conv 3x3 x8 (no bias) -> MaxPool 2 -> Dense 1352 -> 10,
  at batch sizes 1, 32 and 128;
- a larger network: Conv 3x3 x32 -> ReLU -> Conv 3x3 x64 -> ReLU -> MaxPool 2 ->
  Dense 9216 -> 128 -> ReLU -> Dense 128 -> 10, at batch 128.

PyTorch (CPU) runs the same architecture and batch. Each side runs at its best of 1 and 2
threads (each round tries both; the columns ``t`` say which won). scratchcnn runs as
``--threads N`` runs it (``scratchcnn.threads.limit_threads``): on 2 threads each batch of
at least 64 is cut into two parts computed side by side, every matrix product on one BLAS
thread; on 1, and for smaller batches, the batch stays whole on one BLAS thread. On a busy machine a second thread
that waits for a core can cost more than it brings. The ratio column is scratchcnn's
images/s over PyTorch's (above 1: scratchcnn is faster), each side's best round; the two
sides take turns (``--rounds``), and the last column gives the lowest and highest ratio of
a single round, a measure of how much the machine wandered meanwhile.

A last line times the matrix products of the larger network's training step alone, in the
shapes the engine hands them to BLAS: the floor of that step, which BLAS, not scratchcnn,
decides. The floor is the faster of two ways to run them on the step's thread count: the
whole batch's products on that many BLAS threads, or each part's products on one BLAS
thread, the parts at the same time (as the engine runs them).

Every run prints the CPU model and the kernel family OpenBLAS chose (at the start and
again, with the load average then, at the end), so figures from different machines can
be read side by side. The process measures as users run: it removes
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` from its own environment before NumPy
loads OpenBLAS (some machines set them and force older kernels; see
``benchmarks/machine.py``).

Usage::

    python benchmarks/bench_engine.py [--threads N] [--seconds S] [--rounds R]
        [--only notebook|larger] [--blas-core NAME]

``--blas-core`` sets ``OPENBLAS_CORETYPE`` (after the removal above) to compare kernel
families: OpenBLAS picks its kernels from the CPU it detects, and on a CPU it does not
know it may fall back to its AVX2 "Haswell" kernels even when AVX-512 is there.
PyTorch (oneDNN) detects AVX-512 by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

import machine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="BLAS/torch threads"
    )
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="time per measurement and side, all rounds"
    )
    parser.add_argument("--rounds", type=int, default=8, help="turns each side takes (see compare)")
    parser.add_argument(
        "--only", choices=["notebook", "larger"], help="measure this network's rows only"
    )
    parser.add_argument("--blas-core", help="OPENBLAS_CORETYPE to force, e.g. SkylakeX")
    return parser.parse_args()


ARGS = parse_args()
# BLAS reads its thread count and kernel choice when NumPy is first imported.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
machine.use_the_users_blas()
if ARGS.blas_core:
    os.environ["OPENBLAS_CORETYPE"] = ARGS.blas_core

import numpy as np  # noqa: E402

from scratchcnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU  # noqa: E402
from scratchcnn.losses import softmax_cross_entropy  # noqa: E402
from scratchcnn.model import Sequential  # noqa: E402
from scratchcnn.optim import SGD  # noqa: E402
from scratchcnn.parallel import part_bounds, run_in_threads  # noqa: E402

try:
    from threadpoolctl import threadpool_limits

    from scratchcnn.threads import limit_threads
except ImportError:  # pragma: no cover - then scratchcnn runs at --threads only
    limit_threads = None
    threadpool_limits = contextlib.nullcontext
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
    ours: dict[int, object], theirs: dict[int, object], batch: int, seconds: float, rounds: int
) -> tuple[float, int, float, int, float, float]:
    """Best images/s and thread count of each side, and the lowest and highest per-round
    ratio of the two sides' best in that round.

    The two sides take turns, ``rounds`` times, so that a slow spell of a shared machine
    hits both rather than whichever happened to run during it. Each round every side runs
    at every thread count it is given (a step per count); each keeps its best round.
    """
    sides = [(ours, with_our_threads), (theirs, with_torch_threads)]
    for steps, threads_set in sides:  # warm-up: buffers, caches, lazy set-up
        for threads, step in steps.items():
            with threads_set(threads):
                step()
                step()
    best = [(0.0, 0), (0.0, 0)]
    ratios = []
    for _ in range(rounds):
        round_best = [float("nan"), float("nan")]
        for side, (steps, threads_set) in enumerate(sides):
            for threads, step in steps.items():
                with threads_set(threads):
                    rate = images_per_second(step, batch, seconds / rounds)
                if not rate < round_best[side]:
                    round_best[side] = rate
                best[side] = max(best[side], (rate, threads))
        ratios.append(round_best[0] / round_best[1])
    (a, ta), (b, tb) = best
    return a, ta, b, tb, min(ratios), max(ratios)


@contextlib.contextmanager
def with_our_threads(threads: int):
    """scratchcnn on ``threads`` threads inside the block, as ``--threads`` runs it."""
    if limit_threads is None:
        yield
        return
    with limit_threads(threads):
        yield


@contextlib.contextmanager
def with_torch_threads(threads: int):
    torch.set_num_threads(threads)
    yield


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


def larger_step_products(batch: int, seed: int = 0) -> list:
    """The matrix products of one training step of the larger network, as calls, in the
    shapes the engine hands them to BLAS.

    This is the floor of scratchcnn's step for that network: NumPy passes these products
    to BLAS, so no change to scratchcnn's own code (short of fewer products) goes below it.
    Forward, weight gradient and input gradient of each layer; the first convolution has
    no input gradient, and the second's is nine products, one per kernel offset.
    """
    rng = np.random.default_rng(seed)
    n = batch

    def matrix(rows: int, cols: int) -> np.ndarray:
        return rng.standard_normal((rows, cols), dtype=np.float32)

    def gemm(a: np.ndarray, b: np.ndarray, repeat: int = 1):
        out = np.empty((a.shape[0], b.shape[1]), np.float32)

        def product() -> None:
            for _ in range(repeat):
                np.dot(a, b, out=out)

        return product

    rows1, rows2 = n * 26 * 26, n * 24 * 24
    cols1, cols2 = matrix(9, rows1).T, matrix(288, rows2).T  # im2col layouts
    grad1, grad2 = matrix(rows1, 32), matrix(rows2, 64)
    hidden, flat = matrix(n, 128), matrix(n, 9216)
    products = [
        gemm(cols1, matrix(9, 32)),  # conv1 forward
        gemm(cols1.T, grad1),  # conv1 weight gradient
        gemm(cols2, matrix(288, 64)),  # conv2 forward
        gemm(cols2.T, grad2),  # conv2 weight gradient
        gemm(grad2, matrix(64, 32), repeat=9),  # conv2 input gradient
        gemm(flat, matrix(9216, 128)),  # dense1 forward
        gemm(flat.T, hidden),  # dense1 weight gradient
        gemm(hidden, matrix(128, 9216)),  # dense1 input gradient
    ]
    return products


def larger_step_floors(batch: int, threads: int) -> dict[str, tuple[list, int]]:
    """The larger step's products run two ways on ``threads`` threads, each as (calls,
    BLAS threads): the whole batch's products on ``threads`` BLAS threads, and (for more
    than one thread) the products of ``threads`` parts of the batch, one BLAS thread each,
    the parts' k-th products at the same time."""
    floors = {"whole batch": (larger_step_products(batch), threads)}
    if threads > 1:
        parts = [
            larger_step_products(len(range(batch)[part]), seed=k)
            for k, part in enumerate(part_bounds(batch, threads))
        ]
        together = [lambda calls=calls: run_in_threads(calls) for calls in zip(*parts)]
        floors[f"{threads} parts"] = (together, 1)
    return floors


def step_against_floor(step, floors: dict[str, tuple[list, int]], seconds: float, rounds: int):
    """Milliseconds of ``step`` and of each way in ``floors`` to run its products (each
    product at its best of three calls, summed), taking turns for ``rounds`` rounds; returns
    the best step, the best of each way, and the lowest and highest per-round ratio of the
    step to the faster way of that round."""
    best_step = float("inf")
    best_floors = dict.fromkeys(floors, float("inf"))
    ratios = []
    for _ in range(rounds):
        step_ms = 1e3 / images_per_second(step, 1, seconds / rounds)
        round_floors = []
        for name, (products, blas) in floors.items():
            floor_ms = 0.0
            with threadpool_limits(blas):
                for product in products:
                    calls = []
                    for _ in range(3):
                        start = time.perf_counter()
                        product()
                        calls.append(time.perf_counter() - start)
                    floor_ms += 1e3 * min(calls)
            best_floors[name] = min(best_floors[name], floor_ms)
            round_floors.append(floor_ms)
        best_step = min(best_step, step_ms)
        ratios.append(step_ms / min(round_floors))
    return best_step, best_floors, min(ratios), max(ratios)


def main() -> int:
    cases = [
        ("notebook", notebook_network, torch_notebook_network, 1),
        ("notebook", notebook_network, torch_notebook_network, 32),
        ("notebook", notebook_network, torch_notebook_network, 128),
        ("larger", larger_network, torch_larger_network, 128),
    ]
    cases = [case for case in cases if ARGS.only in (None, case[0])]
    torch_version = torch.__version__ if torch is not None else "not installed"
    thread_counts = sorted({1, min(2, ARGS.threads)})
    our_threads = thread_counts if limit_threads is not None else [ARGS.threads]
    print(machine.describe())
    print(
        f"each side at its best of {thread_counts} threads (scratchcnn: {our_threads}; t: the"
        f" winner)  torch {torch_version}  python {sys.version.split()[0]}"
    )
    header = (
        f"{'network':<9} {'batch':>5} {'mode':<6} {'scratchcnn img/s':>17} {'t':>2}"
        f" {'torch img/s':>12} {'t':>2} {'ratio':>6}  {'per-round ratios':>16}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for name, build, build_torch, batch in cases:
        ours = {"train": {}, "infer": {}}
        theirs = {"train": {}, "infer": {}}
        for threads in our_threads:
            ours["train"][threads], ours["infer"][threads] = our_steps(build, batch)
        if torch is not None:
            for threads in thread_counts:
                torch.set_num_threads(threads)
                theirs["train"][threads], theirs["infer"][threads] = torch_steps(build_torch, batch)
        for mode in ("train", "infer"):
            a, ta, b, tb, low, high = compare(
                ours[mode], theirs[mode], batch, ARGS.seconds, ARGS.rounds
            )
            results[name, batch, mode] = (1e3 * batch / a, ta, 1e3 * batch / b if b else 0.0)
            print(
                f"{name:<9} {batch:>5} {mode:<6} {a:>17,.0f} {ta:>2} {b:>12,.0f} {tb:>2}"
                f" {a / b if b else float('nan'):>6.2f}  {low:>7.2f} - {high:<6.2f}",
                flush=True,
            )
    if ("larger", 128, "train") not in results:
        print(machine.describe())
        return 0
    _, threads, theirs_ms = results["larger", 128, "train"]
    floors = larger_step_floors(128, threads)
    with with_our_threads(threads):
        train, _ = our_steps(larger_network, 128)
        for call in (train, *(p for products, _ in floors.values() for p in products)):
            call()  # warm-up
        step_ms, floor_ms, low, high = step_against_floor(train, floors, ARGS.seconds, ARGS.rounds)
    floor = min(floor_ms.values())
    ways = "; ".join(f"{name} {ms:.1f} ms" for name, ms in floor_ms.items())
    print(
        f"\nlarger network, batch 128, {threads} thread(s): training step {step_ms:.1f} ms; its"
        f" matrix products alone {floor:.1f} ms (BLAS; {ways}); step / products"
        f" {step_ms / floor:.2f} (per round {low:.2f} - {high:.2f}); PyTorch's step"
        f" {theirs_ms:.1f} ms"
    )
    print(machine.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())

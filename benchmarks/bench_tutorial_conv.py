"""The tutorial's convolutions, from the notebook's loops to one matrix product, timed.

Four ways to compute the same forward convolution (valid, stride 1, NHWC input, a
``(kh, kw, Cin, Cout)`` kernel), each written as in docs/tutorial.md:

1. loops over images and output pixels, one ``np.sum`` per position (the notebook's way);
2. a strided view of every window (``sliding_window_view``, no copy) contracted with the
   kernel by ``np.einsum``: no Python loop, but no BLAS either;
3. im2col: the windows copied into one ``(N*OH*OW, kh*kw*Cin)`` matrix, then one matrix
   product with the kernel reshaped to ``(kh*kw*Cin, Cout)``;
4. the engine's ``scratchcnn.functional.conv2d_forward`` (im2col into a reused buffer,
   gathered offset-major for one input channel, then the same product).

All run on the same input in one process and take turns over several rounds, each keeping
its best time, so a slow spell of a shared machine does not fall on one version only; the
ratio column is the loop version's time over each version's. BLAS runs on one thread by
default, so the ratios measure the arithmetic's arrangement, not the thread count. Two layers are timed: the
notebook's (28x28x1 -> 8 filters) and the second convolution of the ``fast`` preset
(12x12x32 -> 64 filters).

Usage::

    python benchmarks/bench_tutorial_conv.py [--batch 32] [--threads N] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial

import machine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="images per convolution")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--rounds", type=int, default=5, help="turns each version takes")
    return parser.parse_args()


ARGS = parse_args()
# BLAS reads these when NumPy is first imported; let OpenBLAS detect the CPU by itself.
machine.use_the_users_blas()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from scratchcnn import functional as F  # noqa: E402


def conv_loops(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The notebook's loops: one window, one multiply-and-sum per output pixel."""
    n, h, wd, _ = x.shape
    kh, kw, _, cout = w.shape
    out = np.zeros((n, h - kh + 1, wd - kw + 1, cout), dtype=x.dtype)
    for b in range(n):
        for i in range(h - kh + 1):
            for j in range(wd - kw + 1):
                region = x[b, i : i + kh, j : j + kw, :]
                out[b, i, j] = np.sum(region[..., np.newaxis] * w, axis=(0, 1, 2))
    return out


def conv_views(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Every window as a strided view, contracted with the kernel by einsum."""
    kh, kw = w.shape[:2]
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (N, OH, OW, C, kh, kw)
    return np.einsum("nijcab,abco->nijo", windows, w)


def im2col(x: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """The windows copied into rows: ``(N*OH*OW, kh*kw*C)``, columns ordered (a, b, c)."""
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (N, OH, OW, C, kh, kw)
    n, oh, ow = windows.shape[:3]
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * x.shape[3])


def conv_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """im2col, then one matrix product with the kernel reshaped to (kh*kw*Cin, Cout)."""
    kh, kw, cin, cout = w.shape
    n, h, wd, _ = x.shape
    cols = im2col(x, kh, kw)
    return (cols @ w.reshape(kh * kw * cin, cout)).reshape(n, h - kh + 1, wd - kw + 1, cout)


def conv_engine(x: np.ndarray, w: np.ndarray, workspace: F.Workspace) -> np.ndarray:
    """scratchcnn's own forward convolution."""
    return F.conv2d_forward(x, w, None, workspace=workspace)[0]


def best_times(functions: list[Callable[[], np.ndarray]], rounds: int) -> list[float]:
    """Each function's shortest call over ``rounds`` rounds in which every one runs once.

    A fast function is called repeatedly within its turn (for at least 20 ms), so the
    timer's resolution does not matter.
    """
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for k, function in enumerate(functions):
            calls, start = 0, time.perf_counter()
            while True:
                function()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed > 0.02:
                    break
            best[k] = min(best[k], elapsed / calls)
    return best


def main() -> int:
    print(machine.describe())
    print(f"threads={ARGS.threads}  batch {ARGS.batch}")
    header = f"{'layer':<24} {'version':<28} {'time':>10} {'vs loops':>9}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    layers = [("28x28x1 -> 8 (notebook)", 28, 1, 8), ("12x12x32 -> 64 (fast)", 12, 32, 64)]
    for name, size, cin, cout in layers:
        x = rng.standard_normal((ARGS.batch, size, size, cin), dtype=np.float32)
        w = rng.standard_normal((3, 3, cin, cout), dtype=np.float32)
        workspace: F.Workspace = {}
        versions = [
            ("loops (the notebook)", partial(conv_loops, x, w)),
            ("strided view + einsum", partial(conv_views, x, w)),
            ("im2col + one matmul", partial(conv_matmul, x, w)),
            ("engine (conv2d_forward)", partial(conv_engine, x, w, workspace)),
        ]
        reference = conv_loops(x, w)
        scale = np.abs(reference).max()
        for _, function in versions:
            # Float32 sums of kh*kw*Cin products, added in different orders.
            np.testing.assert_allclose(function(), reference, rtol=0, atol=1e-5 * scale)
        times = best_times([function for _, function in versions], ARGS.rounds)
        loop_seconds = times[0]
        for (label, _), seconds in zip(versions, times):
            print(
                f"{name:<24} {label:<28} {seconds * 1e3:>8.2f}ms {loop_seconds / seconds:>8.0f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

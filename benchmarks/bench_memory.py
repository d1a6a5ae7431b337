"""Peak memory of ``scratchcnn evaluate`` on the full MNIST test set (10,000 images).

Each measurement runs the real command in a fresh process and reads its peak resident
set size (``ru_maxrss`` of the finished child). The baseline is a process that only
imports NumPy and loads the test set, so the difference is what evaluation itself costs.
Evaluation runs ``--batch-size`` images at a time; the last row evaluates all 10,000 in
one batch, which is what bounded batching avoids.

Usage::

    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_memory.py [--model best]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BASELINE = """
import numpy as np
from scratchcnn import datasets
images, labels = datasets.load("mnist", "test")
"""


def peak_rss_mb(command: list[str]) -> float:
    """Run ``command`` to completion; return its own peak resident set size in MiB."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    return usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="best", help="preset to evaluate (untrained weights)")
    parser.add_argument("--batch-sizes", default="100,256,1000,10000")
    args = parser.parse_args()

    from scratchcnn.persistence import save
    from scratchcnn.presets import build_model

    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "model.npz"
        save(build_model(args.model), model_path)
        # Warm the decoded-data cache so every run reads the same way.
        subprocess.run([sys.executable, "-c", BASELINE], check=True)
        base = peak_rss_mb([sys.executable, "-c", BASELINE])
        print(
            f"model: {args.model} (untrained)   baseline (NumPy + test set loaded): {base:.0f} MiB"
        )
        print(f"{'batch size':>10}  {'peak RSS':>9}  {'above baseline':>14}")
        for batch in [int(b) for b in args.batch_sizes.split(",")]:
            command = [
                sys.executable, "-m", "scratchcnn", "evaluate", str(model_path),
                "--dataset", "mnist", "--batch-size", str(batch), "--json",
            ]  # fmt: skip
            peak = peak_rss_mb(command)
            print(f"{batch:>10}  {peak:>6.0f} MiB  {peak - base:>10.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time and peak memory of ``scratchcnn report`` on the full MNIST test set (10,000 images).

The model is ``--model FILE`` if given, else the ``best`` preset's architecture with its
random initial weights: the report does the same work whatever the weights' values (one
batched evaluation, the same figures; only the number of mistakes changes, and the grid
shows at most 24). The report's three stages are timed apart: evaluation
(:func:`scratchcnn.report.analyse`, batched), drawing the figures
(:func:`~scratchcnn.report.report_figures`) and encoding (PNG rendering, base64 and the
page, :func:`~scratchcnn.report.render_html`). The baseline, in the same process, is one
plain :func:`scratchcnn.training.evaluate` of the same model and data, so the last line
says what the report costs over evaluating alone. Both run on ``--threads`` threads, as
``scratchcnn report`` does (``scratchcnn.threads.limit_threads``: batches in parts side by
side, one BLAS thread each). Target: the whole report within 30 s on 2 cores.

Peak memory is the process's peak resident set size before the report (after loading the
data and the baseline evaluation) and after it.

Usage::

    SCRATCHCNN_DATA=/path/to/data python benchmarks/bench_report.py [--model FILE] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import machine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: the best preset, random weights)")
    parser.add_argument("--dataset", default="mnist", help="data set (default: mnist)")
    parser.add_argument("--data-dir", help="folder holding the data (default: $SCRATCHCNN_DATA)")
    parser.add_argument(
        "--threads", type=int, default=2, help="the engine's threads, as --threads (default: 2)"
    )
    parser.add_argument("--images", type=int, default=4, help="images drawn in detail")
    parser.add_argument("--out", help="also write the page here")
    return parser.parse_args()


ARGS = parse_args()
# OpenBLAS reads these when NumPy is first imported: its own CPU detection decides the
# kernels, with the thread count asked for.
machine.use_the_users_blas()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

from scratchcnn import datasets  # noqa: E402
from scratchcnn.threads import limit_threads  # noqa: E402
from scratchcnn.training import evaluate  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    from scratchcnn.report import analyse, render_html, report_figures

    if ARGS.model:
        from scratchcnn.persistence import load

        model = load(ARGS.model)
        name = os.path.basename(ARGS.model)
    else:
        from scratchcnn.presets import build_model

        model = build_model("best", seed=0)
        name = "best (random initial weights)"
    images, labels = datasets.load(ARGS.dataset, "test", ARGS.data_dir)
    print(machine.describe())
    print(f"model: {name}; {ARGS.dataset} test, {len(images):,} images")

    start = time.perf_counter()
    evaluate(model, images, labels)
    baseline = time.perf_counter() - start
    memory_before = peak_rss_mib()

    start = time.perf_counter()
    import matplotlib.figure  # noqa: F401

    imported = time.perf_counter()
    data = analyse(
        model,
        images,
        labels,
        name=name,
        class_names=model.metadata.get("class_names") or datasets.class_names(ARGS.dataset),
        dataset=ARGS.dataset,
        split="test",
        examples=ARGS.images,
    )
    analysed = time.perf_counter()
    figures = report_figures(data, "en")
    drawn = time.perf_counter()
    page = render_html(data, figures, "en")
    encoded = time.perf_counter()
    if ARGS.out:
        from scratchcnn.fileio import atomic_write_bytes

        atomic_write_bytes(ARGS.out, page.encode("utf-8"))

    total = encoded - start
    rows = [
        ("import matplotlib", imported - start),
        ("evaluation (batched)", analysed - imported),
        ("figures", drawn - analysed),
        ("encoding (PNG, base64, HTML)", encoded - drawn),
        ("report in all", total),
    ]
    for label, seconds in rows:
        print(f"  {label:<30} {seconds:7.2f} s")
    print(f"  page size {len(page) / 2**20:.2f} MiB; accuracy {data.evaluation.accuracy:.2%}")
    print(
        f"baseline: evaluate() alone {baseline:.2f} s; report / evaluate = {total / baseline:.2f}"
    )
    print(f"peak RSS: {memory_before:.0f} MiB before the report, {peak_rss_mib():.0f} MiB after")
    print(f"target: report within 30 s -> {'met' if total <= 30 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    with limit_threads(ARGS.threads):
        status = main()
    raise SystemExit(status)

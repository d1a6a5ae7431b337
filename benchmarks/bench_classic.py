"""``scratchcnn classic`` against the original notebook's own code, process start to exit.

The notebook's code is not shipped with scratchcnn: this script reads the notebook text
file you point it at, extracts its code cells (each follows an ``In [n]:`` line), and
writes them, together with a small stand-in for the ``mnist`` package the notebook imports
(built on :func:`scratchcnn.datasets.load`), into a temporary folder where it runs them
with this Python. It then runs ``scratchcnn classic --lang zh`` in fresh processes (one
untimed run first, so that the decoded-data cache is warm), keeps the best of ``--runs``,
prints both wall times and their ratio, and checks that the two outputs are identical.

Usage::

    python benchmarks/bench_classic.py --notebook PATH/TO/notebook.txt [--data-dir DIR]
        [--runs 5] [--notebook-runs 1]

``--data-dir`` (default: ``$SCRATCHCNN_DATA``, then the cache) is the folder holding
``mnist/`` with the four IDX files; both programs read the same files. The notebook's
code takes about a minute; ``scratchcnn classic`` well under a second.

Both programs run with a bytecode cache in a temporary folder (``PYTHONPYCACHEPREFIX``,
and ``PYTHONDONTWRITEBYTECODE`` unset), as an installed package has its modules compiled
already; ``--no-bytecode-cache`` keeps the caller's environment as it is instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAND_IN_MNIST = '''"""Stand-in for the ``mnist`` package: the four arrays, read by scratchcnn."""

from scratchcnn import datasets

DATA_DIR = {data_dir!r}


def train_images():
    return datasets.load("mnist", "train", DATA_DIR)[0]


def train_labels():
    return datasets.load("mnist", "train", DATA_DIR)[1]


def test_images():
    return datasets.load("mnist", "test", DATA_DIR)[0]


def test_labels():
    return datasets.load("mnist", "test", DATA_DIR)[1]
'''


def extract_code_cells(text: str) -> str:
    """The notebook's code cells, in order, as one Python program.

    A cell starts after a line ``In [n]:`` and runs to the next such line; the markdown
    heading that precedes the next cell (lines at the end of the cell that are blank or
    start with ``# `` in the first column) is left out.
    """
    parts = re.split(r"^In \[\d*\]:[ \t]*$", text, flags=re.MULTILINE)
    cells = []
    for part in parts[1:]:
        lines = part.strip("\n").splitlines()
        while lines and (not lines[-1].strip() or lines[-1].startswith("# ")):
            lines.pop()
        cells.append("\n".join(lines))
    if not cells:
        raise SystemExit("no code cells found: expected lines like 'In [1]:' before each cell")
    program = "\n\n".join(cells) + "\n"
    compile(program, "notebook", "exec")
    return program


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    """Wall time of one fresh process and its standard output; fails loudly on error."""
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8"
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", required=True, type=Path, help="the notebook text file")
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: SCRATCHCNN_DATA)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of scratchcnn classic")
    parser.add_argument("--notebook-runs", type=int, default=1, help="timed runs of the notebook")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="run with the environment unchanged"
    )
    args = parser.parse_args()
    data_dir = args.data_dir or os.environ.get("SCRATCHCNN_DATA")
    with tempfile.TemporaryDirectory(prefix="bench-classic-") as folder:
        return run(args, data_dir, Path(folder))


def run(args: argparse.Namespace, data_dir: str | None, folder: Path) -> int:
    """Time both programs with their files in ``folder``; 0 if their outputs agree."""
    env = dict(os.environ)
    if not args.no_bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")

    program = extract_code_cells(args.notebook.read_text(encoding="utf-8"))
    executable = shutil.which("scratchcnn", path=str(Path(sys.executable).parent))
    classic = [executable] if executable else [sys.executable, "-m", "scratchcnn"]
    classic += ["classic", "--lang", "zh"]
    if data_dir:
        classic += ["--data-dir", data_dir]

    timed(classic, env)  # warm the decoded-data, bytecode and file system caches
    classic_times = []
    for _ in range(args.runs):
        elapsed, classic_output = timed(classic, env)
        classic_times.append(elapsed)

    notebook = folder / "notebook"
    notebook.mkdir()
    (notebook / "notebook.py").write_text(program, encoding="utf-8")
    (notebook / "mnist.py").write_text(STAND_IN_MNIST.format(data_dir=data_dir), "utf-8")
    notebook_times = []
    for _ in range(args.notebook_runs):
        elapsed, notebook_output = timed([sys.executable, "notebook.py"], env, cwd=notebook)
        notebook_times.append(elapsed)

    best_classic, best_notebook = min(classic_times), min(notebook_times)
    runs = ", ".join(f"{t:.3f}" for t in classic_times)
    print(f"notebook's own code (best of {len(notebook_times)}): {best_notebook:8.3f} s")
    print(f"scratchcnn classic   (best of {len(classic_times)}): {best_classic:8.3f} s  ({runs})")
    print(f"speed-up: {best_notebook / best_classic:.1f}x")
    same = classic_output == notebook_output
    lines = len(notebook_output.splitlines())
    print(f"outputs identical: {'yes' if same else 'NO'} ({lines} lines)")
    if not same:
        for ours, theirs in zip(classic_output.splitlines(), notebook_output.splitlines()):
            if ours != theirs:
                print(f"  scratchcnn: {ours}\n  notebook:   {theirs}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

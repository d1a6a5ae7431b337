"""``scratchcnn data``: list, download and verify the data sets."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence

from scratchcnn.cli.common import DATASET_CHOICES
from scratchcnn.i18n import tr


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data list``, ``data download NAME`` and ``data verify NAME``."""
    parser = subparsers.add_parser(
        "data",
        help="list, download and verify data sets",
        description="List, download and verify the data sets scratchcnn can load.",
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    names = ", ".join(DATASET_CHOICES)

    list_parser = actions.add_parser(
        "list",
        help="show each data set, its splits and sizes, and where it is found",
        description=tr("cli.data.list.description"),
    )
    _add_data_dir(list_parser)
    list_parser.set_defaults(handler=run_list)

    download_parser = actions.add_parser(
        "download",
        help="download a data set and check its SHA-256 checksums",
        description="Download every file of a data set into the cache (or into "
        "DATA_DIR/NAME/ with --data-dir), verified by SHA-256. Files already there with "
        "the right checksum are kept.",
    )
    download_parser.add_argument("name", metavar="NAME", help=f"one of: {names}")
    _add_data_dir(download_parser, "download into DATA_DIR/NAME/ instead of the cache")
    download_parser.set_defaults(handler=run_download)

    verify_parser = actions.add_parser(
        "verify",
        help="check the SHA-256 of a data set's files",
        description="Find each file of a data set in lookup order and compare its "
        "SHA-256 with the published one. Exit status 1 if any file is missing or differs.",
    )
    verify_parser.add_argument("name", metavar="NAME", help=f"one of: {names}")
    _add_data_dir(verify_parser)
    verify_parser.set_defaults(handler=run_verify)


def run_list(args: argparse.Namespace) -> int:
    """Print one row per data set and split."""
    from scratchcnn.data import datasets
    from scratchcnn.data.registry import get_dataset

    rows = []
    for name in datasets.NAMES:
        dataset = get_dataset(name)
        for split, files in dataset.splits.items():
            if dataset.bundled:
                size = "bundled"
            else:
                size = _megabytes(sum(f.size for f in files.files))
            location = datasets.locate(name, split, args.data_dir)
            where = f"{location.source}: {location.folder}" if location else "not downloaded"
            rows.append([name, split, f"{files.images.count:,}", size, where])
    print(_table(["NAME", "SPLIT", "IMAGES", "DOWNLOAD", "FOUND IN"], rows, right={2, 3}))
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Download (or confirm) every file of one data set."""
    from scratchcnn.data import datasets
    from scratchcnn.data.registry import get_dataset

    dataset = get_dataset(args.name)
    if dataset.bundled:
        print(f"{dataset.name} is bundled with scratchcnn: nothing to download")
        return 0
    fetched = datasets.download(dataset.name, args.data_dir)
    rows = []
    for item in fetched:
        how = f"downloaded from {item.url}" if item.url else "already present"
        rows.append([item.data_file.name, f"{item.data_file.size:,}", "SHA-256 OK", how])
    print(_table(["FILE", "BYTES", "CHECK", "SOURCE"], rows, right={1}))
    folder = fetched[0].path.parent if fetched else ""
    print(f"{dataset.name}: {len(fetched)} files in {folder}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Report each file as OK, MISMATCH or missing; exit 1 on any problem."""
    from scratchcnn.data import datasets
    from scratchcnn.data.registry import get_dataset

    dataset = get_dataset(args.name)
    checks = datasets.verify(dataset.name, args.data_dir)
    rows = []
    for check in checks:
        where = f"{check.source}: {check.path}" if check.path else "-"
        rows.append([check.data_file.name, check.status, where])
    print(_table(["FILE", "STATUS", "FOUND IN"], rows))
    for check in checks:
        if check.detail:
            print(f"{check.data_file.name}: {check.detail}")
    problems = [check for check in checks if not check.ok]
    if not problems:
        print(f"{dataset.name}: all {len(checks)} files OK")
        return 0
    counts: dict[str, int] = {}
    for check in problems:
        counts[check.status] = counts.get(check.status, 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in counts.items())
    print(f"{dataset.name}: {summary} of {len(checks)} files")
    if any(check.path is None for check in problems):
        print(
            f"provide missing files with `scratchcnn data download {dataset.name}`, "
            f"SCRATCHCNN_DATA (a folder holding {dataset.name}/<files>) or --data-dir"
        )
    return 1


def _add_data_dir(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DATA_DIR",
        help=help_text or "look here first: a folder holding NAME/<files>, or the files themselves",
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """Plain text columns, two spaces apart; columns in ``right`` are right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [
            str(cell).rjust(width) if i in right else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

"""``scratchcnn data``: list, download and verify the data sets."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence

from scratchcnn.cli.common import DATASET_CHOICES
from scratchcnn.i18n import MESSAGES, tr, tr_count


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data list``, ``data download NAME`` and ``data verify NAME``."""
    parser = subparsers.add_parser(
        "data", help=tr("cli.data.help"), description=tr("cli.data.description")
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    names = ", ".join(DATASET_CHOICES)

    list_parser = actions.add_parser(
        "list",
        help=tr("cli.data.list.help"),
        description=tr("cli.data.list.description"),
    )
    _add_data_dir(list_parser)
    list_parser.set_defaults(handler=run_list)

    download_parser = actions.add_parser(
        "download",
        help=tr("cli.data.download.help"),
        description=tr("cli.data.download.description"),
    )
    download_parser.add_argument("name", metavar="NAME", help=tr("cli.data.name", names=names))
    _add_data_dir(download_parser, tr("cli.data.help.download_dir"))
    download_parser.set_defaults(handler=run_download)

    verify_parser = actions.add_parser(
        "verify",
        help=tr("cli.data.verify.help"),
        description=tr("cli.data.verify.description"),
    )
    verify_parser.add_argument("name", metavar="NAME", help=tr("cli.data.name", names=names))
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
                size = tr("cli.data.bundled")
            else:
                size = _megabytes(sum(f.size for f in files.files))
            location = datasets.locate(name, split, args.data_dir)
            where = (
                tr(
                    "cli.data.found_at",
                    source=_translated("source", location.source),
                    folder=location.folder,
                )
                if location
                else tr("cli.data.not_downloaded")
            )
            rows.append([name, split, f"{files.images.count:,}", size, where])
    headers = [tr(f"cli.data.col.{c}") for c in ("name", "split", "images", "download", "found")]
    print(_table(headers, rows, right={2, 3}))
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Download (or confirm) every file of one data set."""
    from scratchcnn.data import datasets
    from scratchcnn.data.registry import get_dataset

    dataset = get_dataset(args.name)
    if dataset.bundled:
        print(tr("cli.data.nothing_to_download", name=dataset.name))
        return 0
    fetched = datasets.download(dataset.name, args.data_dir)
    rows = []
    for item in fetched:
        how = (
            tr("cli.data.downloaded_from", url=item.url)
            if item.url
            else tr("cli.data.already_present")
        )
        rows.append([item.data_file.name, f"{item.data_file.size:,}", "SHA-256 OK", how])
    headers = [tr(f"cli.data.col.{c}") for c in ("file", "bytes", "check", "source")]
    print(_table(headers, rows, right={1}))
    folder = fetched[0].path.parent if fetched else ""
    print(tr_count("cli.data.files_in", len(fetched), name=dataset.name, folder=folder))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Report each file as OK, MISMATCH or missing; exit 1 on any problem."""
    from scratchcnn.data import datasets
    from scratchcnn.data.registry import get_dataset

    dataset = get_dataset(args.name)
    checks = datasets.verify(dataset.name, args.data_dir)
    rows = []
    for check in checks:
        where = (
            tr("cli.data.found_at", source=_translated("source", check.source), folder=check.path)
            if check.path
            else "-"
        )
        rows.append([check.data_file.name, _translated("status", check.status), where])
    print(_table([tr(f"cli.data.col.{c}") for c in ("file", "status", "found")], rows))
    for check in checks:
        if check.detail:
            print(f"{check.data_file.name}: {check.detail}")
    problems = [check for check in checks if not check.ok]
    if not problems:
        print(tr_count("cli.data.all_ok", len(checks), name=dataset.name))
        return 0
    counts: dict[str, int] = {}
    for check in problems:
        counts[check.status] = counts.get(check.status, 0) + 1
    summary = ", ".join(
        f"{count} {_translated('status', status)}" for status, count in counts.items()
    )
    print(tr_count("cli.data.problems", len(checks), name=dataset.name, summary=summary))
    if any(check.path is None for check in problems):
        print(tr("cli.data.provide_missing", name=dataset.name))
    return 1


def _add_data_dir(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DATA_DIR",
        help=help_text or tr("cli.data.help.data_dir"),
    )


def _translated(kind: str, word: str) -> str:
    """A status (OK, MISMATCH...) or a place (cache, package) in the current language;
    option and variable names (--data-dir, SCRATCHCNN_DATA) stay as they are.
    """
    key = f"cli.data.{kind}.{word}"
    return tr(key) if key in MESSAGES else word


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """Plain text columns, two spaces apart; columns in ``right`` are right-aligned."""
    from scratchcnn.tables import format_table

    align = "".join("r" if i in right else "l" for i in range(len(headers)))
    return format_table([headers, *rows], align)

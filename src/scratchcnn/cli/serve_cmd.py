"""``scratchcnn serve [MODEL]``: the drawing demo in a browser (see :mod:`scratchcnn.server`).

Without MODEL it serves the small model shipped in the package (``scratchcnn/models/
demo.npz``, trained by ``scripts/train_demo_model.py``). It binds 127.0.0.1 unless
``--host`` says otherwise and warns when the address is reachable from other machines.
Ctrl-C or SIGTERM stops it: the socket is closed and the exit status is 0.
"""

from __future__ import annotations

import argparse
from importlib import resources

from scratchcnn.i18n import tr

#: The bundled model, inside the package.
BUNDLED_MODEL = "models/demo.npz"
#: The most worker processes ``serve`` starts by itself.
MOST_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker process per usable core, at most :data:`MOST_DEFAULT_WORKERS`; none on
    a single core, where a worker would only add a hop."""
    from scratchcnn.machine import usable_cores

    cores = usable_cores()
    return min(cores, MOST_DEFAULT_WORKERS) if cores > 1 else 0


def worker_count(text: str) -> int:
    """An argparse type: a number of worker processes, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(tr("cli.serve.bad_workers", value=text))
    return int(text)


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(tr("cli.serve.bad_port", value=text))
    return int(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command."""
    parser = subparsers.add_parser(
        "serve",
        help=tr("cli.serve.help"),
        description=tr("cli.serve.description"),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        nargs="?",
        help=tr("cli.serve.help.model"),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=tr("cli.serve.help.host"),
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help=tr("cli.serve.help.port"),
    )
    parser.add_argument("--open", action="store_true", help=tr("cli.serve.help.open"))
    parser.add_argument("--lang", choices=("en", "zh"), help=tr("cli.serve.help.lang"))
    parser.add_argument("--log", action="store_true", help=tr("cli.serve.help.log"))
    workers = default_workers()
    parser.add_argument(
        "--workers",
        type=worker_count,
        default=workers,
        metavar="N",
        help=tr("cli.serve.help.workers", most=MOST_DEFAULT_WORKERS, default=workers),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the model and serve until stopped."""
    import sys

    from scratchcnn.i18n import set_language
    from scratchcnn.images import require_pillow
    from scratchcnn.persistence import load
    from scratchcnn.server import serve

    require_pillow()
    if args.lang:  # the page's first language; otherwise the command line's
        set_language(args.lang)
    if args.model:
        model, source = load(args.model), args.model
    else:
        with resources.as_file(resources.files("scratchcnn") / BUNDLED_MODEL) as path:
            model = load(path)
        source = tr("serve.bundled")
    serve(
        model,
        args.host,
        args.port,
        source=source,
        open_browser=args.open,
        log=sys.stderr if args.log else None,
        workers=args.workers,
    )
    return 0

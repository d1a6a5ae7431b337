"""``scratchcnn export MODEL``: write a model as an ONNX graph that takes raw pixels."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchcnn.cli.common import positive_int
from scratchcnn.i18n import tr


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    parser = subparsers.add_parser(
        "export", help=tr("cli.export.help"), description=tr("cli.export.description")
    )
    parser.add_argument("model", metavar="MODEL", help=tr("cli.help.model_file"))
    parser.add_argument("-o", "--output", metavar="FILE", help=tr("cli.export.help.output"))
    parser.add_argument(
        "--opset",
        type=positive_int,
        default=17,
        metavar="N",
        help=tr("cli.export.help.opset", default=17),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, export, say what was written."""
    from scratchcnn.export import export_onnx, require_onnx
    from scratchcnn.persistence import load

    require_onnx()  # before loading: a missing package is the first thing to fix
    model = load(args.model)
    output = Path(args.output) if args.output else Path(args.model).with_suffix(".onnx")
    export_onnx(model, output, opset=args.opset)
    height, width, channels = model.input_shape or (28, 28, 1)
    print(
        tr(
            "export.written",
            path=output,
            opset=args.opset,
            height=height,
            width=width,
            channels=channels,
        )
    )
    return 0

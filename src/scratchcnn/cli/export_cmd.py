"""``scratchcnn export MODEL``: write a model as an ONNX graph that takes raw pixels."""

from __future__ import annotations

import argparse
from pathlib import Path

from scratchcnn.cli.common import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    parser = subparsers.add_parser(
        "export",
        help="write a saved model as an ONNX graph (for ONNX Runtime and friends)",
        description="Export a model file to ONNX. The graph takes 'pixels', float32 "
        "(N, 28, 28, 1) with values 0-255, applies the model's own preprocessing, and "
        "outputs 'probabilities' and 'logits'. Needs the onnx package "
        "(pip install 'scratchcnn[onnx]'). See docs/export.md.",
    )
    parser.add_argument("model", metavar="MODEL", help="model or checkpoint file (.npz)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the graph (default: the model's name with .onnx)",
    )
    parser.add_argument(
        "--opset", type=positive_int, default=17, metavar="N", help="ONNX opset (default: 17)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, export, say what was written."""
    from scratchcnn.export import export_onnx, require_onnx
    from scratchcnn.i18n import tr
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

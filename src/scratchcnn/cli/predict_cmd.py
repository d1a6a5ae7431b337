"""``scratchcnn predict MODEL IMAGE...``: classify pictures of digits with a saved model.

Each image goes through MNIST-style preprocessing (:mod:`scratchcnn.images`), then the
model's recorded input normalisation (:func:`scratchcnn.preprocessing.normalize`). One
line per image shows the predicted class and the top-K classes with their probabilities;
``--json`` prints the same as JSON. Images that cannot be read are reported on stderr,
the others still predicted, and the exit status is then 1. ``--show-input OUT.png``
writes (atomically) one row per image read: the picture with the digit's crop outlined,
beside the 28x28 input the network saw.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from scratchcnn.cli.common import positive_int
from scratchcnn.errors import ModelFileError, ScratchCNNError
from scratchcnn.i18n import tr

#: The input shape MNIST-style preprocessing produces.
INPUT_SHAPE = (28, 28, 1)
#: Height in pixels of each row of the ``--show-input`` sheet.
SHEET_ROW = 112


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` sub-command."""
    parser = subparsers.add_parser(
        "predict", help=tr("cli.predict.help"), description=tr("cli.predict.description")
    )
    parser.add_argument("model", metavar="MODEL", help=tr("cli.help.model_file"))
    parser.add_argument("images", metavar="IMAGE", nargs="+", help=tr("cli.predict.help.images"))
    parser.add_argument(
        "--top",
        type=positive_int,
        default=3,
        metavar="K",
        help=tr("cli.predict.help.top", default=3),
    )
    parser.add_argument("--json", action="store_true", help=tr("cli.help.json"))
    parser.add_argument(
        "--show-input",
        metavar="OUT.png",
        help=tr("cli.predict.help.show_input"),
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=256,
        metavar="N",
        help=tr("cli.predict.help.batch_size", default=256),
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Predict every image; returns 0, or 1 when some image could not be read."""
    from scratchcnn.fileio import atomic_write
    from scratchcnn.images import input_sheet, preprocess_image, require_pillow
    from scratchcnn.persistence import load
    from scratchcnn.preprocessing import check_preprocessing, normalize

    require_pillow()
    model = load(args.model)
    preprocessing, class_names = _model_settings(model, args.model)
    try:
        preprocessing = check_preprocessing(preprocessing)
    except ValueError as exc:
        raise ModelFileError(f"{args.model}: bad preprocessing in the metadata: {exc}") from None

    results, errors, seen = [], [], []
    top = min(args.top, len(class_names))
    # Read, normalise and classify one batch of files at a time, so memory stays bounded
    # however many images are given.
    for start in range(0, len(args.images), args.batch_size):
        pixels, names = [], []
        for path in args.images[start : start + args.batch_size]:
            try:
                steps = preprocess_image(path)
                pixels.append(steps.digit)
                names.append(path)
                if args.show_input:
                    seen.append(steps.shrunk(SHEET_ROW))
            except ScratchCNNError as exc:
                errors.append((path, str(exc)))
        if not pixels:
            continue
        x = normalize(np.stack(pixels), preprocessing, model.dtype)
        for path, p in zip(names, model.predict_proba(x, batch_size=args.batch_size)):
            order = np.argsort(-p, kind="stable")[:top]
            results.append(
                {
                    "image": path,
                    "class": class_names[order[0]],
                    "index": int(order[0]),
                    "top": [
                        {"class": class_names[i], "index": int(i), "probability": float(p[i])}
                        for i in order
                    ],
                }
            )
    if args.show_input and seen:
        try:
            with atomic_write(args.show_input) as out:
                input_sheet(seen, SHEET_ROW).save(out, format="PNG")
        except OSError as exc:
            raise ScratchCNNError(
                message_key="images.cannot_write", path=args.show_input, reason=exc.strerror or exc
            ) from None
    if args.json:
        errors_json = [{"image": path, "error": message} for path, message in errors]
        report = {"model": args.model, "predictions": results, "errors": errors_json}
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for _path, message in errors:
            print(tr("cli.error", message=message), file=sys.stderr)
        if results:
            print(format_table(results))
    return 1 if errors else 0


def _model_settings(model: Any, source: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The model's preprocessing and class names, checked against its architecture."""
    from scratchcnn.compatibility import check_model_fits

    names = check_model_fits(model, INPUT_SHAPE, source, tr("cli.predict.reads"))
    return model.metadata.get("preprocessing"), names


def format_table(results: list[dict[str, Any]]) -> str:
    """An aligned table: image, predicted class, then each top class with its probability."""
    from scratchcnn.tables import format_table as table

    name_width = max(len(entry["class"]) for result in results for entry in result["top"])
    rows = [
        [
            tr("cli.predict.col.image"),
            tr("cli.predict.col.class"),
            tr("cli.predict.col.top", count=len(results[0]["top"])),
        ]
    ]
    for result in results:
        cells = [f"{e['class']:<{name_width}} {e['probability']:7.2%}" for e in result["top"]]
        rows.append([result["image"], result["class"], "   ".join(cells)])
    return table(rows)

"""A trained model, drawn: curves, confusion, mistakes, filters, feature maps and saliency.

The figure functions return :class:`matplotlib.figure.Figure` objects built without
pyplot (no global figure state, no GUI backend: PNGs are drawn by Agg), so a notebook
shows them inline and a script saves them. :func:`build_report` puts them, with the
evaluation's numbers, the model's layers, its training metadata and the machine, into one
self-contained HTML page: every picture is a base64 PNG ``data:`` URI and the styles are
inline, so the file opens offline. The page also holds the numbers as JSON
(``<script type="application/json" id="report-data">``), with the keys of
``scratchcnn evaluate --json``.

A report is made in three stages, which the benchmark times separately:
:func:`analyse` (the batched evaluation, :func:`scratchcnn.training.evaluate`),
:func:`report_figures` (drawing) and :func:`render_html` (PNG encoding and the page).
matplotlib is the optional extra ``plot``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import html
import io
import json
import math
import os
import platform
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import get_language, tr
from scratchcnn.inspection import layer_outputs, saliency_map
from scratchcnn.layers import Conv2D, MaxPool2D
from scratchcnn.machine import blas_description, cpu_model, usable_cores
from scratchcnn.metrics import Evaluation, evaluate, precision_recall_f1
from scratchcnn.model import Sequential
from scratchcnn.preprocessing import normalize

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Feature maps drawn per layer at most (the first ones).
MAX_CHANNELS = 32
#: Fonts able to draw Chinese labels inside figures, tried in order.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Droid Sans Fallback",
)


def require_matplotlib() -> None:
    """Raise a clear :class:`ScratchCNNError` naming the ``plot`` extra if matplotlib is missing."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ScratchCNNError(tr("report.needs_matplotlib")) from None


def _new_figure(width: float, height: float, layout: str | None = "constrained") -> Figure:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout=layout)


def _cmap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="white")


def _as_picture(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` for one channel, ``(H, W, C)`` otherwise."""
    image = np.asarray(image)
    return image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image


# --- figures -------------------------------------------------------------------------
def training_curves(
    history: Sequence[Mapping[str, Any]] | None, language: str | None = None
) -> Figure:
    """Loss, accuracy (training and validation) and learning rate per epoch.

    ``history`` is ``model.metadata["history"]``: one dict per epoch with ``epoch``,
    ``loss``, ``accuracy``, ``lr`` and ``val_loss`` / ``val_accuracy`` (None when there
    was no validation set). Without a history the figure holds the "no history" note.
    """
    language = _figure_language(language)
    if not history:
        figure = _new_figure(6, 1)
        figure.text(
            0.5, 0.5, tr("report.no_history", language), ha="center", va="center", wrap=True
        )
        return figure
    figure = _new_figure(11, 3.2)
    axes = figure.subplots(1, 3)
    epochs = [row["epoch"] for row in history]
    for ax, key, label in (
        (axes[0], "loss", "report.fig.loss"),
        (axes[1], "accuracy", "report.fig.accuracy"),
    ):
        ax.plot(epochs, [row[key] for row in history], "o-", label=tr("report.fig.train", language))
        validation = [(e, row.get(f"val_{key}")) for e, row in zip(epochs, history)]
        validation = [(e, v) for e, v in validation if v is not None]
        if validation:
            ax.plot(*zip(*validation), "s--", label=tr("report.fig.validation", language))
        ax.set_ylabel(tr(label, language))
        ax.legend()
    axes[2].plot(epochs, [row["lr"] for row in history], "o-", color="tab:green")
    axes[2].set_ylabel(tr("report.fig.lr", language))
    for ax in axes:
        ax.set_xlabel(tr("report.fig.epoch", language))
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    return figure


def confusion_figure(
    confusion: np.ndarray, class_names: Sequence[str], language: str | None = None
) -> Figure:
    """The confusion matrix as a heat map: counts in the cells, colour = share of the row."""
    language = _figure_language(language)
    confusion = np.asarray(confusion)
    k = len(confusion)
    size = max(3.5, 0.42 * k + 1.3)
    figure = _new_figure(size + 0.9, size)
    ax = figure.subplots()
    rows = confusion.sum(axis=1, keepdims=True)
    share = confusion / np.maximum(rows, 1)
    shown = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for t in range(k):
        for p in range(k):
            ax.text(
                p,
                t,
                f"{int(confusion[t, p])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if share[t, p] > 0.5 else "black",
            )
    ax.set_xticks(range(k), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0)
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel(tr("report.fig.predicted", language))
    ax.set_ylabel(tr("report.fig.true", language))
    figure.colorbar(shown, ax=ax, shrink=0.8)
    return figure


def mistakes_figure(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    confidence: np.ndarray,
    class_names: Sequence[str],
    count: int = 24,
    columns: int = 8,
) -> Figure | None:
    """The ``count`` wrong predictions with the highest confidence, as a grid of images.

    Each image is titled ``true -> predicted`` and the predicted class's probability.
    None when there are no mistakes.
    """
    worst = most_confident_mistakes(labels, predictions, confidence, count)
    if len(worst) == 0:
        return None
    # One picture with a strip above each image for its caption: far faster to draw than
    # one axes per image.
    pictures = np.asarray(images)[worst].astype(np.float64) / 255.0
    if pictures.ndim == 4 and pictures.shape[-1] == 1:
        pictures = pictures[..., 0]
    h, w = pictures.shape[1:3]
    strip, gap = max(8, h // 3), 2
    columns = min(columns, len(worst))
    rows = math.ceil(len(worst) / columns)
    canvas = np.ones((rows * (h + strip), columns * (w + gap) - gap, *pictures.shape[3:]))
    figure = _new_figure(
        1.15 * columns, 1.15 * columns * canvas.shape[0] / canvas.shape[1], layout=None
    )
    ax = figure.add_axes((0, 0, 1, 1))
    for slot, index in enumerate(worst):
        r, c = divmod(slot, columns)
        top, left = r * (h + strip) + strip, c * (w + gap)
        canvas[top : top + h, left : left + w] = pictures[slot]
        caption = (
            f"{class_names[labels[index]]} \u2192 {class_names[predictions[index]]}\n"
            f"{confidence[index]:.1%}"
        )
        ax.text(
            left + w / 2, top - 1, caption, ha="center", va="bottom", fontsize=8, linespacing=1.1
        )
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    return figure


def most_confident_mistakes(
    labels: np.ndarray, predictions: np.ndarray, confidence: np.ndarray, count: int
) -> np.ndarray:
    """Indices of the ``count`` wrong predictions with the highest confidence, surest first."""
    wrong = np.flatnonzero(np.asarray(predictions) != np.asarray(labels))
    order = np.argsort(-np.asarray(confidence)[wrong], kind="stable")
    return wrong[order[:count]]


def first_convolution(model: Sequential) -> tuple[int, Conv2D] | None:
    """The index and layer of the model's first :class:`Conv2D`, or None."""
    for index, layer in enumerate(model):
        if isinstance(layer, Conv2D):
            return index, layer
    return None


def filters_figure(model: Sequential) -> Figure | None:
    """The first convolution's kernels, one square per (input channel, filter).

    One symmetric colour scale for all (red positive, blue negative), so filters compare.
    None for a model without convolutions.
    """
    found = first_convolution(model)
    if found is None:
        return None
    weight = found[1].params["weight"]  # (kh, kw, Cin, Cout)
    kernels = np.moveaxis(weight, (2, 3), (0, 1)).reshape(-1, *weight.shape[:2])
    columns = min(16, len(kernels))
    limit = float(np.abs(weight).max()) or 1.0
    tiled = _mosaic(kernels, columns)
    figure = _new_figure(
        min(12, 0.75 * columns + 1.2), 0.75 * tiled.shape[0] / (weight.shape[0] + 1) + 0.5
    )
    ax = figure.subplots()
    shown = ax.imshow(tiled, cmap=_cmap("RdBu_r"), vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_axis_off()
    figure.colorbar(shown, ax=ax, shrink=0.8)
    return figure


def feature_maps_figure(
    model: Sequential,
    image: np.ndarray,
    preprocessing: Mapping[str, Any] | None = None,
    max_channels: int = MAX_CHANNELS,
    language: str | None = None,
) -> Figure:
    """Every convolution and pooling layer's output for one image (uint8 ``(H, W[, C])``).

    One row per layer, the input first; each channel's map is scaled to its own range.
    """
    language = _figure_language(language)
    if preprocessing is None:
        preprocessing = model.metadata.get("preprocessing")
    x = normalize(np.asarray(image)[np.newaxis], preprocessing, model.dtype)
    outputs = [
        (name, output[0])
        for (name, output), layer in zip(layer_outputs(model, x), model)
        if isinstance(layer, (Conv2D, MaxPool2D))
    ]
    # Always 16 slots wide, so a map takes the same room on the page in every layer.
    mosaics = [
        _mosaic(np.moveaxis(out[..., :max_channels], -1, 0), 16, per_tile=True, fill=True)
        for _, out in outputs
    ]
    width = 10.0
    heights = [width * m.shape[0] / m.shape[1] for m in mosaics]
    figure = _new_figure(width, 1.2 + sum(heights) + 0.3 * len(mosaics))
    grid = figure.add_gridspec(len(mosaics) + 1, 1, height_ratios=[1.0, *heights])
    ax = figure.add_subplot(grid[0])
    ax.imshow(_as_picture(image), cmap="gray", interpolation="nearest")
    ax.set_title(tr("report.fig.input", language), fontsize=9)
    ax.set_axis_off()
    for row, ((name, out), tiled) in enumerate(zip(outputs, mosaics), start=1):
        ax = figure.add_subplot(grid[row])
        ax.imshow(tiled, cmap=_cmap("viridis"), vmin=0, vmax=1, interpolation="nearest")
        title = tr(
            "report.fig.channels",
            language,
            layer=name,
            shape="x".join(map(str, out.shape)),
            shown=min(max_channels, out.shape[-1]),
            channels=out.shape[-1],
        )
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    return figure


def saliency_figure(
    model: Sequential,
    images: np.ndarray,
    preprocessing: Mapping[str, Any] | None = None,
    class_names: Sequence[str] | None = None,
    labels: np.ndarray | None = None,
    language: str | None = None,
) -> Figure:
    """Input, saliency ``|d z_k / d x|`` of the predicted class ``k``, and the two overlaid.

    One row per image; the gradient comes from the engine's own backward pass
    (:func:`scratchcnn.inspection.saliency_map`).
    """
    language = _figure_language(language)
    if preprocessing is None:
        preprocessing = model.metadata.get("preprocessing")
    x = normalize(np.asarray(images), preprocessing, model.dtype)
    probabilities = _softmax(model.forward(x))
    predicted = probabilities.argmax(axis=1)
    maps = saliency_map(model, x, predicted)
    names = list(class_names) if class_names else [str(k) for k in range(probabilities.shape[1])]
    figure = _new_figure(6.0, 2.0 * len(x))
    axes = np.asarray(figure.subplots(len(x), 3, squeeze=False))
    for n in range(len(x)):
        picture = _as_picture(images[n])
        heads = ("report.fig.input", "report.fig.saliency", "report.fig.overlay")
        axes[n, 0].imshow(picture, cmap="gray", interpolation="nearest")
        axes[n, 1].imshow(maps[n], cmap="inferno", vmin=0, vmax=1, interpolation="nearest")
        axes[n, 2].imshow(picture, cmap="gray", interpolation="nearest")
        axes[n, 2].imshow(
            maps[n], cmap="inferno", vmin=0, vmax=1, alpha=0.6, interpolation="nearest"
        )
        true = names[int(labels[n])] if labels is not None else "?"
        answer = tr(
            "report.fig.answer",
            language,
            true=true,
            predicted=names[predicted[n]],
            confidence=f"{probabilities[n, predicted[n]]:.1%}",
        )
        for ax, head in zip(axes[n], heads):
            ax.set_title(tr(head, language), fontsize=9)
            ax.set_axis_off()
        axes[n, 1].set_title(f"{tr(heads[1], language)}\n{answer}", fontsize=9)
    return figure


def _softmax(logits: np.ndarray) -> np.ndarray:
    from scratchcnn.losses import softmax

    return softmax(logits.astype(np.float64))


def _mosaic(
    tiles: np.ndarray, columns: int, per_tile: bool = False, fill: bool = False
) -> np.ndarray:
    """Tiles ``(N, h, w)`` laid out ``columns`` wide with one NaN pixel between them.

    ``per_tile`` scales each tile to [0, 1] by its own minimum and maximum (a constant
    tile becomes 0); ``fill`` keeps all ``columns`` even for fewer tiles (NaN-padded).
    """
    tiles = np.asarray(tiles, dtype=np.float64)
    if per_tile:
        low = tiles.min(axis=(1, 2), keepdims=True)
        span = tiles.max(axis=(1, 2), keepdims=True) - low
        tiles = (tiles - low) / np.where(span > 0, span, 1)
    count, h, w = tiles.shape
    columns = max(1, columns if fill else min(columns, count))
    rows = math.ceil(count / columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return out


def _figure_language(language: str | None) -> str:
    """The language for text inside figures: English unless a Chinese font is at hand."""
    language = language or get_language()
    return language if language == "en" or _cjk_font() else "en"


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


# --- the numbers ---------------------------------------------------------------------
@dataclass
class ReportData:
    """Everything the report shows that comes from running the model."""

    model: Sequential
    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    dataset: str
    split: str
    evaluation: Evaluation
    #: Indices of the images whose feature maps and saliency are drawn.
    examples: np.ndarray
    #: Indices of the most confident mistakes, surest first.
    mistakes: np.ndarray

    def numbers(self) -> dict[str, Any]:
        """The evaluation as JSON data; the first keys are those of ``evaluate --json``."""
        result = self.evaluation
        precision, recall, f1 = precision_recall_f1(result.confusion)
        return {
            "model": self.name,
            "dataset": self.dataset,
            "split": self.split,
            "images": result.count,
            "loss": result.loss,
            "accuracy": result.accuracy,
            "per_class_accuracy": _by_class(self.class_names, result.per_class_accuracy),
            "confusion_matrix": result.confusion.tolist(),
            "precision": _by_class(self.class_names, precision),
            "recall": _by_class(self.class_names, recall),
            "f1": _by_class(self.class_names, f1),
            "support": dict(zip(self.class_names, map(int, result.confusion.sum(axis=1)))),
        }


def _by_class(names: Sequence[str], values: np.ndarray) -> dict[str, float | None]:
    return {name: None if np.isnan(v) else float(v) for name, v in zip(names, values)}


def analyse(
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    name: str = "model",
    class_names: Sequence[str] | None = None,
    dataset: str = "",
    split: str = "",
    examples: int = 4,
    mistakes: int = 24,
    batch_size: int = 256,
) -> ReportData:
    """Evaluate ``model`` on uint8 ``images`` in batches and pick ``examples`` images to draw.

    ``mistakes`` is the number of most confident mistakes to show.

    The examples are the first image of each class in class order (then the first images),
    so the pictures show different classes.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if len(images) == 0:
        raise ScratchCNNError(tr("report.no_images"))
    shape = tuple(model.input_shape or (*images.shape[1:3], 1))
    if tuple(shape[:2]) != images.shape[1:3]:
        raise ScratchCNNError(
            tr(
                "report.wrong_size",
                model_size="x".join(map(str, shape[:2])),
                data_size="x".join(map(str, images.shape[1:3])),
            )
        )
    classes = model.output_shapes(shape)[-1][0]
    if int(labels.max()) >= classes:
        raise ScratchCNNError(
            tr("report.wrong_classes", classes=classes, largest=int(labels.max()))
        )
    names = list(class_names or model.metadata.get("class_names") or map(str, range(classes)))
    result = evaluate(model, images, labels, batch_size=batch_size, num_classes=classes)
    return ReportData(
        model=model,
        name=name,
        images=images,
        labels=labels,
        class_names=names,
        dataset=dataset or str(model.metadata.get("dataset", "")),
        split=split,
        evaluation=result,
        examples=pick_examples(labels, examples),
        mistakes=most_confident_mistakes(labels, result.predictions, result.confidence, mistakes),
    )


def pick_examples(labels: np.ndarray, count: int) -> np.ndarray:
    """The first image of each class in class order, then the first images, ``count`` in all."""
    labels = np.asarray(labels)
    firsts = [int(np.argmax(labels == c)) for c in np.unique(labels)]
    rest = [i for i in range(min(len(labels), count + len(firsts))) if i not in set(firsts)]
    return np.array((firsts + rest)[: max(0, count)], dtype=np.int64)


def report_figures(data: ReportData, language: str | None = None) -> dict[str, Any]:
    """Every figure of the report, by section: a Figure, a list of them, or None."""
    model, result = data.model, data.evaluation
    chosen = data.examples
    with _figure_fonts(language):
        return {
            "curves": training_curves(model.metadata.get("history"), language)
            if model.metadata.get("history")
            else None,
            "confusion": confusion_figure(result.confusion, data.class_names, language),
            "mistakes": mistakes_figure(
                data.images,
                data.labels,
                result.predictions,
                result.confidence,
                data.class_names,
                len(data.mistakes),
            ),
            "filters": filters_figure(model),
            "features": [
                feature_maps_figure(model, data.images[i], language=language) for i in chosen
            ],
            "saliency": saliency_figure(
                model,
                data.images[chosen],
                class_names=data.class_names,
                labels=data.labels[chosen],
                language=language,
            )
            if len(chosen)
            else None,
        }


@contextlib.contextmanager
def _figure_fonts(language: str | None) -> Iterator[None]:
    """While drawing Chinese text, take the glyphs Latin fonts lack from a Chinese font."""
    import matplotlib

    font = _cjk_font() if (language or get_language()) == "zh" else None
    # Latin glyphs from the usual font, the rest from the Chinese one (font fallback).
    with matplotlib.rc_context({"font.family": ["DejaVu Sans", font]} if font else {}):
        yield


# --- the page ------------------------------------------------------------------------
def figure_png(figure: Figure) -> bytes:
    """The figure drawn by Agg as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def machine_description(language: str | None = None) -> dict[str, str]:
    """The CPU, cores, Python, NumPy and BLAS of this machine, as display strings."""
    return {
        "cpu": cpu_model(),
        "cores": tr("report.machine.cores", language, usable=usable_cores(), total=os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "blas": blas_description(),
        "system": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em;
       color: #222; background: #fff; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.2em 0.7em; text-align: right; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
td.text, th.text { text-align: left; font-family: ui-monospace, monospace; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.headline { font-size: 1.2em; } .note { color: #555; font-style: italic; }
.made { color: #777; font-size: 0.9em; } figure { margin: 0; }
"""


def render_html(data: ReportData, figures: Mapping[str, Any], language: str | None = None) -> str:
    """The self-contained HTML page: the figures as PNG data URIs, the numbers, the tables."""
    from scratchcnn import __version__

    lang = language or get_language()
    t = _translator(lang)
    numbers = data.numbers()
    result = data.evaluation
    esc = html.escape
    parts = [
        f'<!DOCTYPE html>\n<html lang="{"zh-Hans" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        # No request may leave the page: nothing but inline styles and data: images.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{esc(t('report.title', name=data.name))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(t('report.title', name=data.name))}</h1>",
        f'<p class="made">{esc(t("report.made", when=_now(), version=__version__))}</p>',
        f"<h2>{esc(t('report.results'))}</h2>",
        '<p class="headline">'
        + esc(
            t(
                "report.results.line",
                dataset=data.dataset or "?",
                split=data.split or "?",
                images=f"{result.count:,}",
                accuracy=f"{result.accuracy:.2%}",
                loss=f"{result.loss:.4f}",
            )
        )
        + "</p>",
        f"<h2>{esc(t('report.curves'))}</h2>",
        _picture(figures.get("curves"), "curves")
        if figures.get("curves") is not None
        else f'<p class="note" id="no-history">{esc(t("report.no_history"))}</p>',
        f"<h3>{esc(t('report.classes'))}</h3>",
        _class_table(numbers, data.class_names, t),
        f"<h2>{esc(t('report.confusion'))}</h2>",
        f'<p class="note">{esc(t("report.confusion.caption"))}</p>',
        _picture(figures.get("confusion"), "confusion"),
        f"<h2>{esc(t('report.mistakes'))}</h2>",
    ]
    if figures.get("mistakes") is None:
        parts.append(f'<p class="note">{esc(t("report.no_mistakes"))}</p>')
    else:
        count = len(data.mistakes)
        parts += [
            f'<p class="note">{esc(t("report.mistakes.caption", count=count))}</p>',
            _picture(figures["mistakes"], "mistakes"),
        ]
    parts.append(f"<h2>{esc(t('report.filters'))}</h2>")
    found = first_convolution(data.model)
    if found is None or figures.get("filters") is None:
        parts.append(f'<p class="note">{esc(t("report.no_convolution"))}</p>')
    else:
        layer = f"{found[0]} {found[1]!r}"
        parts += [
            f'<p class="note">{esc(t("report.filters.caption", layer=layer))}</p>',
            _picture(figures["filters"], "filters"),
        ]
    features = figures.get("features") or []
    if features:  # none with --images 0
        caption = t("report.features.caption", count=len(features), limit=MAX_CHANNELS)
        parts += [
            f"<h2>{esc(t('report.features'))}</h2>",
            f'<p class="note">{esc(caption)}</p>',
            *(_picture(f, f"features-{i}") for i, f in enumerate(features)),
        ]
    if figures.get("saliency") is not None:
        parts += [
            f"<h2>{esc(t('report.saliency'))}</h2>",
            f'<p class="note">{esc(t("report.saliency.caption"))}</p>',
            _picture(figures["saliency"], "saliency"),
        ]
    parts += [
        f"<h2>{esc(t('report.model'))}</h2>",
        _layer_table(data.model, data.images, t),
        f"<h2>{esc(t('report.training'))}</h2>",
        _training_table(data.model.metadata, t),
        f"<h2>{esc(t('report.machine'))}</h2>",
        f'<p class="note">{esc(t("report.machine.note"))}</p>',
        _key_value_table(
            {
                t("report.machine.cpu"): (m := machine_description(lang))["cpu"],
                t("report.machine.cores_label"): m["cores"],
                "Python": m["python"],
                "NumPy": m["numpy"],
                t("report.machine.blas"): m["blas"],
                "OS": m["system"],
            }
        ),
        '<script type="application/json" id="report-data">'
        + json.dumps(numbers).replace("</", "<\\/")
        + "</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _translator(language: str) -> Any:
    return lambda key, **values: tr(key, language, **values)


def _now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def _picture(figure: Figure | None, name: str) -> str:
    if figure is None:
        return ""
    encoded = base64.b64encode(figure_png(figure)).decode("ascii")
    return (
        f'<figure><img id="img-{name}" alt="{name}" src="data:image/png;base64,{encoded}"></figure>'
    )


def _percent(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.2%}"


def _class_table(numbers: Mapping[str, Any], names: Sequence[str], t: Any) -> str:
    heads = (
        "report.col.class",
        "report.col.precision",
        "report.col.recall",
        "report.col.f1",
        "report.col.support",
    )
    rows = [
        "<tr>"
        + "".join(
            f'<th class="text">{html.escape(t(h))}</th>'
            if i == 0
            else f"<th>{html.escape(t(h))}</th>"
            for i, h in enumerate(heads)
        )
        + "</tr>"
    ]
    for name in names:
        rows.append(
            f'<tr><td class="text">{html.escape(name)}</td>'
            f"<td>{_percent(numbers['precision'][name])}</td>"
            f"<td>{_percent(numbers['recall'][name])}</td>"
            f"<td>{_percent(numbers['f1'][name])}</td>"
            f"<td>{numbers['support'][name]:,}</td></tr>"
        )
    return '<table id="class-table">' + "".join(rows) + "</table>"


def _layer_table(model: Sequential, images: np.ndarray, t: Any) -> str:
    shape = tuple(
        model.input_shape or (*images.shape[1:3], 1 if images.ndim == 3 else images.shape[3])
    )
    rows = [
        f'<tr><th class="text">{html.escape(t("report.col.layer"))}</th>'
        f'<th class="text">{html.escape(t("report.col.output"))}</th>'
        f"<th>{html.escape(t('report.col.params'))}</th></tr>"
    ]
    for index, (layer, out) in enumerate(zip(model, model.output_shapes(shape))):
        rows.append(
            f'<tr><td class="text">{index} {html.escape(repr(layer))}</td>'
            f'<td class="text">{html.escape(str(tuple(out)))}</td><td>{layer.num_params():,}</td></tr>'
        )
    total = html.escape(t("report.total_params", count=f"{model.num_params():,}"))
    return '<table id="layer-table">' + "".join(rows) + f"</table><p>{total}</p>"


def _training_table(metadata: Mapping[str, Any], t: Any) -> str:
    shown = {k: v for k, v in metadata.items() if k not in ("history", "class_names")}
    history = metadata.get("history") or []
    lines = []
    if history:
        seconds = sum(float(row.get("seconds") or 0) for row in history)
        key = "report.training.epochs" + (".one" if len(history) == 1 else "")
        text = t(key, epochs=len(history), seconds=f"{seconds:.1f} s")
        lines.append(f"<p>{html.escape(text)}</p>")
    if not shown and not history:
        return f'<p class="note">{html.escape(t("report.training.nothing"))}</p>'
    values = {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in shown.items()
    }
    return "".join(lines) + _key_value_table(values)


def _key_value_table(values: Mapping[str, str]) -> str:
    rows = "".join(
        f'<tr><th class="text">{html.escape(str(k))}</th><td class="text">{html.escape(str(v))}</td></tr>'
        for k, v in values.items()
    )
    return f"<table>{rows}</table>"


# --- the whole report ----------------------------------------------------------------
def build_report(
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    name: str = "model",
    class_names: Sequence[str] | None = None,
    dataset: str = "",
    split: str = "",
    examples: int = 4,
    mistakes: int = 24,
    batch_size: int = 256,
    language: str | None = None,
) -> str:
    """The report on ``model`` over uint8 ``images`` and their ``labels`` as one HTML page."""
    require_matplotlib()
    data = analyse(
        model,
        images,
        labels,
        name=name,
        class_names=class_names,
        dataset=dataset,
        split=split,
        examples=examples,
        mistakes=mistakes,
        batch_size=batch_size,
    )
    figures = report_figures(data, language)
    with _figure_fonts(language):
        return render_html(data, figures, language)


def write_report(
    path: str | os.PathLike[str],
    model: Sequential,
    images: np.ndarray,
    labels: np.ndarray,
    **options: Any,
) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically; returns the path."""
    from scratchcnn.fileio import atomic_write_bytes

    page = build_report(model, images, labels, **options)
    atomic_write_bytes(path, page.encode("utf-8"))
    return Path(path)

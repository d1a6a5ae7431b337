"""One digit, explained: the prediction, what the network saw and what each stage made of it.

:class:`DigitExplainer` wraps a trained model for the web demo (``scratchcnn serve``). It
takes a digit as 784 pixel values or as a PNG/JPEG file, prepares it exactly as
``scratchcnn predict`` does (:func:`scratchcnn.images.load_image_as_mnist`, then the
model's recorded :func:`~scratchcnn.preprocessing.normalize`) and answers a JSON-ready
dictionary with:

- ``digit``, ``probabilities`` (softmax of the logits) and ``class_names``;
- ``input``: the 28x28 ``uint8`` image the network saw, as rows of numbers;
- ``feature_maps``: the output of every stage (each convolution block after its
  BatchNorm/ReLU, each pooling layer), quantised per channel to bytes and base64-encoded;
- ``saliency``: :func:`scratchcnn.inspection.saliency_map`, ``|d z_k / d x|`` at the
  predicted class ``k``, scaled to [0, 1] (the same input gradient as the report).

Layers cache their inputs between ``forward`` and ``backward``, so one model must not run
two requests at once: :meth:`DigitExplainer.explain` holds a lock around the network, and
requests that wait for it meanwhile run together as one batch.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from scratchcnn.errors import ScratchCNNError
from scratchcnn.images import load_image_as_mnist, require_pillow
from scratchcnn.inspection import outputs_and_saliency_map
from scratchcnn.layers import BatchNorm2D, Conv2D, Dropout, MaxPool2D, ReLU
from scratchcnn.losses import softmax
from scratchcnn.model import Sequential
from scratchcnn.preprocessing import check_preprocessing, normalize

#: The image the network takes: a 28x28 grayscale digit.
SIDE = 28
PIXELS = SIDE * SIDE
#: Image formats accepted, by Pillow's name for them.
IMAGE_FORMATS = ("PNG", "JPEG")
#: Request ``Content-Type``\ s of an image file, and of JSON pixels.
IMAGE_TYPES = ("image/png", "image/jpeg")
JSON_TYPE = "application/json"
#: Largest image accepted, in pixels (width x height); larger ones are refused before
#: decoding, so a small file that declares a huge picture (a decompression bomb) costs nothing.
MAX_IMAGE_PIXELS = 40_000_000
#: At most this many waiting requests run through the model together.
MAX_BATCH = 32
#: At most this many channels of each stage are sent to the page.
MAX_CHANNELS = 32
# Layers that finish a stage which starts with a convolution.
_STAGE_TAIL = (BatchNorm2D, ReLU, Dropout)


class BadInputError(ScratchCNNError):
    """A request's digit cannot be used (wrong size, not numbers, unreadable image)."""


class UnsupportedTypeError(BadInputError):
    """A request body of a ``Content-Type`` the demo does not read (HTTP 415)."""


class DigitExplainer:
    """A trained 28x28 digit classifier with the lock and metadata the demo needs."""

    def __init__(self, model: Sequential, source: str = "model") -> None:
        shape = tuple(model.input_shape or (SIDE, SIDE, 1))
        if shape != (SIDE, SIDE, 1):
            raise ScratchCNNError(
                f"{source}: the demo needs a 28x28x1 model, this one takes {shape}"
            )
        output = model.output_shapes(shape)[-1]
        if len(output) != 1:
            raise ScratchCNNError(f"{source}: the model outputs shape {output}, not class scores")
        self.model = model
        self.source = source
        self.num_classes = output[0]
        names = model.metadata.get("class_names")
        valid = isinstance(names, list) and len(names) == self.num_classes
        self.class_names = [str(n) for n in names] if valid else [str(i) for i in range(output[0])]
        try:
            self.preprocessing = check_preprocessing(model.metadata.get("preprocessing"))
        except ValueError as exc:
            raise ScratchCNNError(f"{source}: bad preprocessing in the metadata: {exc}") from None
        self.stages = _stages(model)
        self._lock = threading.Lock()  # the model: layers keep state between passes
        self._queue_lock = threading.Lock()
        self._queue: list[dict[str, Any]] = []

    # --- inputs ----------------------------------------------------------------------
    @staticmethod
    def pixels_from_json(value: Any) -> np.ndarray:
        """The ``"pixels"`` of a JSON request, checked, as ``uint8`` (28, 28).

        784 numbers from 0 to 255, row-major, bright ink on a dark background; fractions are
        rounded to the nearest level.
        """
        if not isinstance(value, list):
            raise BadInputError(f'"pixels" must be a list of {PIXELS} numbers, got {_kind(value)}')
        if len(value) != PIXELS:
            raise BadInputError(f'"pixels" must hold {PIXELS} numbers (28x28), got {len(value)}')
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise BadInputError(f'"pixels"[{index}] is {_kind(item)}, not a number')
            # Compared as numbers first: math.isfinite overflows on huge integers.
            if not (0 <= item <= 255 and math.isfinite(item)):
                raise BadInputError(f'"pixels"[{index}] = {item!r} is outside 0..255')
        return np.rint(np.asarray(value, dtype=np.float64)).astype(np.uint8).reshape(SIDE, SIDE)

    @staticmethod
    def pixels_from_image(data: bytes) -> np.ndarray:
        """A PNG or JPEG file's bytes turned into an MNIST-style ``uint8`` (28, 28) digit.

        The picture's size is read from its header and checked against
        :data:`MAX_IMAGE_PIXELS` before anything is decoded.
        """
        image_module = require_pillow()
        try:
            with image_module.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
        except Exception:
            raise BadInputError(
                "the body is not an image Pillow can read (send a PNG or JPEG)"
            ) from None
        if kind not in IMAGE_FORMATS:
            raise BadInputError(f"the image is {kind}; send a PNG or JPEG")
        if width * height > MAX_IMAGE_PIXELS:
            raise BadInputError(
                f"the image is {width}x{height} pixels, more than the {MAX_IMAGE_PIXELS:,} accepted"
            )
        try:
            return load_image_as_mnist(_Upload(data))
        except ScratchCNNError as exc:
            raise BadInputError(str(exc)) from None
        except Exception as exc:  # a decoder failure Pillow does not classify
            raise BadInputError(f"{_Upload.NAME}: damaged or unreadable image ({exc})") from None

    @staticmethod
    def pixels_from_body(kind: str, body: bytes) -> np.ndarray:
        """The digit of a ``POST /api/predict`` body of ``Content-Type`` ``kind``
        (:data:`JSON_TYPE` or one of :data:`IMAGE_TYPES`), as ``uint8`` (28, 28)."""
        if kind == JSON_TYPE:
            return DigitExplainer.pixels_from_json(pixels_field(body))
        if kind in IMAGE_TYPES:
            return DigitExplainer.pixels_from_image(body)
        raise UnsupportedTypeError(
            f"Content-Type {kind or '(none)'!r}: send {JSON_TYPE}, {' or '.join(IMAGE_TYPES)}"
        )

    def respond(self, kind: str, body: bytes) -> tuple[int, bytes]:
        """The HTTP status and JSON bytes answering one ``POST /api/predict`` body
        (through :meth:`explain`, so concurrent calls run as one batch).

        200 with :meth:`explain`'s answer; 400 with ``{"error": ...}`` for a digit that
        cannot be used (415 for a ``Content-Type`` it does not read); 500 with ``{"error": "internal error", "traceback": ...}`` for a
        failure of our own (the server logs the traceback and does not send it).
        """
        try:
            return 200, json_bytes(self.explain(self.pixels_from_body(kind, body)))
        except BadInputError as exc:
            return _refusal(exc)
        except Exception:
            return 500, _internal_error()

    def respond_batch(self, requests: Sequence[tuple[str, bytes]]) -> list[tuple[int, bytes]]:
        """:meth:`respond` for many ``(kind, body)`` requests at once: their digits run
        through the network as one batch (:meth:`explain_batch`)."""
        answers: list[tuple[int, bytes] | None] = [None] * len(requests)
        digits, places = [], []
        for place, (kind, body) in enumerate(requests):
            try:
                digits.append(self.pixels_from_body(kind, body))
                places.append(place)
            except BadInputError as exc:
                answers[place] = _refusal(exc)
            except Exception:
                answers[place] = (500, _internal_error())
        try:
            for place, answer in zip(places, self.explain_batch(digits)):
                answers[place] = (200, json_bytes(answer))
        except Exception:
            for place in places:
                answers[place] = (500, _internal_error())
        return answers  # type: ignore[return-value]

    # --- the answer ------------------------------------------------------------------
    def explain(self, pixels: np.ndarray) -> dict[str, Any]:
        """Classify one ``uint8`` (28, 28) digit and describe what the network did with it.

        Safe to call from many threads. Requests that arrive while the model is busy wait
        together and then run as one batch (up to :data:`MAX_BATCH`): at inference every
        sample's outputs and input gradient depend on that sample alone, so batching
        changes nothing but the time.
        """
        slot: dict[str, Any] = {"pixels": pixels}
        with self._queue_lock:
            self._queue.append(slot)
        while "answer" not in slot:
            with self._lock:
                if "answer" in slot:
                    break
                with self._queue_lock:
                    batch = self._queue[:MAX_BATCH]
                    del self._queue[:MAX_BATCH]
                try:
                    answers: list[Any] = self._explain_batch([s["pixels"] for s in batch])
                except Exception as exc:  # each waiting caller raises it
                    answers = [exc] * len(batch)
                for waiting, answer in zip(batch, answers):
                    waiting["answer"] = answer
        if isinstance(slot["answer"], BaseException):
            raise slot["answer"]
        return slot["answer"]

    def explain_batch(self, digits: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """:meth:`explain` for many ``uint8`` (28, 28) digits in one pass of the network
        (safe to call from many threads: the network runs one batch at a time)."""
        with self._lock:
            return self._explain_batch(digits)

    def _explain_batch(self, digits: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """The answers for ``digits`` (called with the model lock held)."""
        if not digits:
            return []
        pixels = np.stack(digits)
        x = normalize(pixels, self.preprocessing, self.model.dtype)
        outputs, saliency = outputs_and_saliency_map(self.model, x)
        probabilities = softmax(outputs[-1][1].astype(np.float64))
        digits_found = np.argmax(probabilities, axis=1).tolist()
        rounded = np.round(probabilities, 6).tolist()
        images = pixels.astype(int).tolist()
        saliency_rows = np.round(saliency.astype(np.float64), 4).tolist()
        maps = [encode_feature_maps(name, outputs[layer][1]) for layer, name in self.stages]
        return [
            {
                "digit": digit,
                "label": self.class_names[digit],
                "probabilities": rounded[index],
                "class_names": self.class_names,
                "input": images[index],
                "saliency": saliency_rows[index],
                "feature_maps": [stage[index] for stage in maps],
            }
            for index, digit in enumerate(digits_found)
        ]

    def describe(self) -> dict[str, Any]:
        """What ``GET /api/model`` answers: layers, sizes, training facts."""
        shapes = self.model.output_shapes((SIDE, SIDE, 1))
        layers = [
            {
                "index": index,
                "type": type(layer).__name__,
                "name": repr(layer),
                "output_shape": list(shape),
                "params": int(sum(p.size for p in layer.params.values())),
            }
            for index, (layer, shape) in enumerate(zip(self.model, shapes))
        ]
        metadata = self.model.metadata
        history = metadata.get("history")
        return {
            "source": self.source,
            "preset": metadata.get("preset"),
            "dataset": metadata.get("dataset"),
            "class_names": self.class_names,
            "input_shape": [SIDE, SIDE, 1],
            "params": int(self.model.num_params()),
            "layers": layers,
            "stages": [name for _, name in self.stages],
            "preprocessing": self.preprocessing,
            "test": metadata.get("test"),
            "epochs": len(history) if isinstance(history, list) else None,
        }


class _Upload(io.BytesIO):
    """Request bytes as a file that calls itself "uploaded image" in error messages."""

    NAME = "uploaded image"

    def __str__(self) -> str:
        return self.NAME


def _stages(model: Sequential) -> list[tuple[int, str]]:
    """``(index of the last layer, name)`` of each stage worth showing.

    A stage is a convolution with the BatchNorm/ReLU/Dropout layers right after it, or a
    pooling layer; its picture is the output of its last layer.
    """
    stages: list[tuple[int, str]] = []
    layers = list(model)
    index = 0
    while index < len(layers):
        layer = layers[index]
        if isinstance(layer, Conv2D):
            end = index
            while end + 1 < len(layers) and isinstance(layers[end + 1], _STAGE_TAIL):
                end += 1
            tail = [type(layers[i]).__name__ for i in range(index + 1, end + 1)]
            stages.append((end, " + ".join([repr(layer), *tail])))
            index = end + 1
            continue
        if isinstance(layer, MaxPool2D):
            stages.append((index, repr(layer)))
        index += 1
    return stages


def pixels_field(body: bytes) -> Any:
    """The ``pixels`` of a JSON body; NaN and Infinity are not JSON and are refused."""

    def refuse_constant(name: str) -> Any:
        raise BadInputError(f"{name} is not a number JSON allows; pixels must be 0..255")

    try:
        value = json.loads(body.decode("utf-8"), parse_constant=refuse_constant)
    except UnicodeDecodeError:
        raise BadInputError("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadInputError("the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        raise BadInputError(f"bad JSON: {exc}") from None
    if not isinstance(value, dict) or "pixels" not in value:
        raise BadInputError('expected a JSON object {"pixels": [784 numbers 0-255]}')
    return value["pixels"]


def _refusal(exc: BadInputError) -> tuple[int, bytes]:
    """The 4xx answer to a request whose digit cannot be had."""
    status = 415 if isinstance(exc, UnsupportedTypeError) else 400
    return status, json_bytes({"error": str(exc)})


def _internal_error() -> bytes:
    """A 500 answer carrying the traceback of the exception being handled."""
    return json_bytes({"error": "internal error", "traceback": traceback.format_exc()})


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_feature_map(name: str, output: np.ndarray) -> dict[str, Any]:
    """One stage's (H, W, C) output as bytes: each shown channel scaled by its own range.

    Channel ``c`` becomes ``round(255 * (v - lo_c) / (hi_c - lo_c))`` (0 where the channel
    is constant), laid out channel by channel, row-major, then base64-encoded. The first
    :data:`MAX_CHANNELS` channels are sent; ``low`` and ``high`` give each one's range.
    """
    return encode_feature_maps(name, output[None])[0]


def encode_feature_maps(name: str, outputs: np.ndarray) -> list[dict[str, Any]]:
    """:func:`encode_feature_map` for each of a batch of (N, H, W, C) outputs, computed
    for the whole batch at once."""
    _, height, width, channels = outputs.shape
    shown = outputs[..., :MAX_CHANNELS].astype(np.float64).transpose(0, 3, 1, 2)
    low = shown.min(axis=(2, 3))
    high = shown.max(axis=(2, 3))
    span = np.where(high > low, high - low, 1.0)
    scaled = np.rint(255 * (shown - low[..., None, None]) / span[..., None, None])
    scaled = scaled.astype(np.uint8)
    lows, highs = np.round(low, 5).tolist(), np.round(high, 5).tolist()
    return [
        {
            "name": name,
            "height": height,
            "width": width,
            "channels": channels,
            "shown": int(shown.shape[1]),
            "low": lows[index],
            "high": highs[index],
            "data": base64.b64encode(scaled[index].tobytes()).decode("ascii"),
        }
        for index in range(len(outputs))
    ]


def decode_feature_map(encoded: dict[str, Any]) -> np.ndarray:
    """The inverse of :func:`encode_feature_map`: (shown, H, W) values in [low, high]."""
    raw = np.frombuffer(base64.b64decode(encoded["data"]), dtype=np.uint8)
    maps = raw.reshape(encoded["shown"], encoded["height"], encoded["width"]).astype(np.float64)
    low = np.asarray(encoded["low"])[:, None, None]
    high = np.asarray(encoded["high"])[:, None, None]
    return low + maps / 255 * (high - low)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Sequence):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__

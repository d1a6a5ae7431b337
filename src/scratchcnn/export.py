"""ONNX export: a scratchcnn model as a graph that any ONNX runtime can run.

The graph takes what a user has, raw pixels, and holds the model's own preprocessing::

    pixels (N, H, W, C) float32, 0..255, NHWC as scratchcnn uses
      -> Mul(scale) -> Sub(mean) -> Div(std)       model.metadata["preprocessing"]
      -> Transpose(0, 3, 1, 2)                     NHWC -> NCHW, the layout ONNX's Conv wants
      -> Conv / BatchNormalization / Relu / MaxPool ...
      -> Transpose(0, 2, 3, 1) -> Flatten          back to NHWC first: scratchcnn's flatten order
      -> Gemm / Relu ...                           -> logits (N, classes)
      -> Softmax                                   -> probabilities (N, classes)

The batch dimension is symbolic (``N``). Dropout is the identity at inference and is left
out; BatchNorm uses its running statistics.

The format's traps, and how each is met:

- Conv kernels: scratchcnn stores ``(kh, kw, in, out)``, ONNX wants ``(out, in, kh, kw)``.
- Padding: 'same' with an odd total puts the extra row/column at the bottom/right
  (TensorFlow's rule); it is written as explicit ``pads`` ``[top, left, bottom, right]``
  resolved for the input size at that layer, never as ``auto_pad``.
- Flatten order: scratchcnn flattens NHWC (channels fastest), ONNX's Flatten of NCHW puts
  channels slowest. The graph transposes back to NHWC before Flatten, so Dense weights are
  written exactly as stored. (The other remedy, permuting the first Dense layer's rows, is
  what :func:`scratchcnn.onnx_import.import_onnx` does for graphs in PyTorch's convention.)
  The transpose moves one small tensor per image, little next to the convolutions.
- IR version: a current ``onnx`` stamps its newest IR version, which an older runtime
  refuses; the file gets the oldest IR version that supports the requested opset.

``onnx`` is imported only when a function here runs (extra ``scratchcnn[onnx]``).
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from scratchcnn import __version__
from scratchcnn.errors import ScratchCNNError
from scratchcnn.fileio import atomic_write_bytes
from scratchcnn.i18n import tr
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.model import Sequential
from scratchcnn.preprocessing import check_preprocessing

__all__ = [
    "DEFAULT_OPSET",
    "INPUT_NAME",
    "LOGITS_NAME",
    "MIN_OPSET",
    "PROBABILITIES_NAME",
    "ExportError",
    "export_onnx",
    "ir_version_for",
    "require_onnx",
    "to_onnx",
]

DEFAULT_OPSET = 17
#: Softmax over the last axis and Gemm with an optional bias, as used here, need 13.
MIN_OPSET = 13
INPUT_NAME = "pixels"
PROBABILITIES_NAME = "probabilities"
LOGITS_NAME = "logits"
#: metadata keys copied into the graph's ``metadata_props`` (JSON-encoded).
METADATA_KEYS = ("preset", "dataset", "class_names", "preprocessing")

PathLike = str | os.PathLike[str]


class ExportError(ScratchCNNError):
    """A model or graph that cannot be converted, or the ``onnx`` package is missing."""


def require_onnx() -> Any:
    """The ``onnx`` module, or an :class:`ExportError` naming the extra that provides it."""
    try:
        return importlib.import_module("onnx")
    except ImportError:
        raise ExportError(tr("export.needs_onnx"), hint=tr("export.needs_onnx_hint")) from None


def ir_version_for(opset: int) -> int:
    """The oldest ONNX IR version that supports ``opset`` of the default domain.

    ``onnx.helper.VERSION_TABLE`` lists (release, IR version, opset, ...) in release order;
    the first release that knows the opset gives the IR version every runtime that
    supports the opset can read.
    """
    onnx = require_onnx()
    for _release, ir_version, ai_onnx, *_ in onnx.helper.VERSION_TABLE:
        if ai_onnx >= opset:
            return int(ir_version)
    raise ExportError(tr("export.opset_range", opset=opset, low=MIN_OPSET, high=_max_opset()))


def _max_opset() -> int:
    return int(require_onnx().defs.onnx_opset_version())


class _GraphBuilder:
    """Collects nodes and initializers, naming each tensor after the layer that makes it."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        array = np.ascontiguousarray(value, dtype=np.float32)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes)
        )
        return output


def to_onnx(model: Sequential, opset: int = DEFAULT_OPSET) -> Any:
    """The model as an ``onnx.ModelProto`` (see the module docstring for the graph)."""
    onnx = require_onnx()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= _max_opset():
        raise ExportError(tr("export.opset_range", opset=opset, low=MIN_OPSET, high=_max_opset()))
    input_shape = tuple(model.input_shape or (28, 28, 1))
    if len(input_shape) != 3:
        raise ExportError(tr("export.input_shape", shape=input_shape))
    for index, layer in enumerate(model.layers):
        if type(layer) not in _CONVERTERS:
            raise ExportError(
                tr("export.unsupported_layer", index=index, layer=repr(layer)),
                hint=tr(
                    "export.supported_layers", names=", ".join(t.__name__ for t in _CONVERTERS)
                ),
            )
    try:
        shapes = model.output_shapes(input_shape)
    except ValueError as exc:
        raise ExportError(tr("export.bad_model", reason=str(exc))) from None
    if len(shapes[-1]) != 1:
        raise ExportError(tr("export.not_classifier", shape=shapes[-1]))

    graph = _GraphBuilder(onnx)
    tensor = _preprocessing(graph, model, input_shape[2])
    layout = "NHWC"
    spatial: tuple[int, ...] = input_shape
    for index, layer in enumerate(model.layers):
        tensor, layout = _CONVERTERS[type(layer)](graph, index, layer, tensor, layout, spatial)
        spatial = shapes[index]
    graph.node("Identity", [tensor], LOGITS_NAME)
    graph.node("Softmax", [LOGITS_NAME], PROBABILITIES_NAME, axis=-1)

    helper, float32 = onnx.helper, onnx.TensorProto.FLOAT
    classes = shapes[-1][0]
    body = helper.make_graph(
        graph.nodes,
        "scratchcnn",
        [helper.make_tensor_value_info(INPUT_NAME, float32, ["N", *input_shape])],
        [
            helper.make_tensor_value_info(PROBABILITIES_NAME, float32, ["N", classes]),
            helper.make_tensor_value_info(LOGITS_NAME, float32, ["N", classes]),
        ],
        graph.initializers,
        doc_string="pixels: float32 (N, H, W, C), values 0-255, NHWC",
    )
    proto = helper.make_model(
        body,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="scratchcnn",
        producer_version=__version__,
        ir_version=ir_version_for(opset),
    )
    metadata = {**model.metadata, "preprocessing": _preprocessing_of(model)}
    helper.set_model_props(
        proto, {key: json.dumps(metadata[key]) for key in METADATA_KEYS if key in metadata}
    )
    return proto


def export_onnx(model: Sequential, path: PathLike, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``model`` to ``path`` as an ONNX graph (atomically); returns the path.

    The graph takes ``pixels`` (float32 ``(N, H, W, C)``, 0-255) and outputs
    ``probabilities`` and ``logits``; see the module docstring.
    """
    proto = to_onnx(model, opset)
    require_onnx().checker.check_model(proto)
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return path


# --- the pieces of the graph --------------------------------------------------------------


def _preprocessing_of(model: Sequential) -> dict[str, Any]:
    try:
        return check_preprocessing(model.metadata.get("preprocessing"))
    except ValueError as exc:
        raise ExportError(tr("export.bad_model", reason=str(exc))) from None


def _preprocessing(graph: _GraphBuilder, model: Sequential, channels: int) -> str:
    """``(pixels * scale - mean) / std`` in float32, as :func:`~scratchcnn.preprocessing.normalize`
    computes it (same operations in the same order, so the same bits)."""
    settings = _preprocessing_of(model)
    tensor = graph.node("Mul", [INPUT_NAME, graph.constant("scale", settings["scale"])], "scaled")
    for op, key in (("Sub", "mean"), ("Div", "std")):
        value = np.asarray(settings[key], dtype=np.float32)
        if value.size == 1:
            value = value.reshape(())
        elif value.size != channels:
            raise ExportError(
                tr(
                    "export.bad_model",
                    reason=f"preprocessing {key!r} has {value.size} values for {channels} channels",
                )
            )
        tensor = graph.node(op, [tensor, graph.constant(key, value)], f"{key}_applied")
    return tensor


def _to_nchw(graph: _GraphBuilder, index: int, tensor: str, layout: str) -> str:
    if layout == "NCHW":
        return tensor
    return graph.node("Transpose", [tensor], f"layer{index}_nchw", perm=[0, 3, 1, 2])


def _conv(graph, index, layer: Conv2D, tensor, layout, spatial):
    from scratchcnn import functional as F

    tensor = _to_nchw(graph, index, tensor, layout)
    top, bottom, left, right = F.resolve_padding(
        layer.padding, layer.kernel_size, layer.stride, spatial[:2]
    )
    # (kh, kw, in, out) -> (out, in, kh, kw)
    weight = layer.params["weight"].transpose(3, 2, 0, 1)
    inputs = [tensor, graph.constant(f"layer{index}_weight", weight)]
    if "bias" in layer.params:
        inputs.append(graph.constant(f"layer{index}_bias", layer.params["bias"]))
    out = graph.node(
        "Conv",
        inputs,
        f"layer{index}_conv",
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        pads=[top, left, bottom, right],
    )
    return out, "NCHW"


def _max_pool(graph, index, layer: MaxPool2D, tensor, layout, spatial):
    tensor = _to_nchw(graph, index, tensor, layout)
    out = graph.node(
        "MaxPool",
        [tensor],
        f"layer{index}_maxpool",
        kernel_shape=list(layer.pool_size),
        strides=list(layer.stride),
    )
    return out, "NCHW"


def _batch_norm(graph, index, layer: BatchNorm2D, tensor, layout, spatial):
    tensor = _to_nchw(graph, index, tensor, layout)
    inputs = [
        tensor,
        graph.constant(f"layer{index}_gamma", layer.params["weight"]),
        graph.constant(f"layer{index}_beta", layer.params["bias"]),
        graph.constant(f"layer{index}_running_mean", layer.buffers["running_mean"]),
        graph.constant(f"layer{index}_running_var", layer.buffers["running_var"]),
    ]
    out = graph.node("BatchNormalization", inputs, f"layer{index}_batchnorm", epsilon=layer.eps)
    return out, "NCHW"


def _relu(graph, index, layer: ReLU, tensor, layout, spatial):
    return graph.node("Relu", [tensor], f"layer{index}_relu"), layout


def _flatten(graph, index, layer: Flatten, tensor, layout, spatial):
    if layout == "NCHW":
        tensor = graph.node("Transpose", [tensor], f"layer{index}_nhwc", perm=[0, 2, 3, 1])
    return graph.node("Flatten", [tensor], f"layer{index}_flatten", axis=1), "flat"


def _dropout(graph, index, layer: Dropout, tensor, layout, spatial):
    return tensor, layout


def _dense(graph, index, layer: Dense, tensor, layout, spatial):
    inputs = [tensor, graph.constant(f"layer{index}_weight", layer.params["weight"])]
    if "bias" in layer.params:
        inputs.append(graph.constant(f"layer{index}_bias", layer.params["bias"]))
    return graph.node("Gemm", inputs, f"layer{index}_dense"), "flat"


_CONVERTERS = {
    Conv2D: _conv,
    MaxPool2D: _max_pool,
    BatchNorm2D: _batch_norm,
    ReLU: _relu,
    Flatten: _flatten,
    Dropout: _dropout,
    Dense: _dense,
}

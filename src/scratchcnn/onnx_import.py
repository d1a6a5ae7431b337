"""ONNX import: a graph made of the operations scratchcnn exports, back as a :class:`Sequential`.

So a model trained elsewhere can be inspected with ``report`` and served with ``serve``.
The graph must be one chain from its single image input to its logits (and, optionally, a
final Softmax); each operation becomes a layer:

=====================================  ==============================================
ONNX                                   scratchcnn
=====================================  ==============================================
Mul / Sub / Div / Add by constants     ``metadata["preprocessing"]`` (before any layer)
before the first layer
Transpose (0,3,1,2) / (0,2,3,1)        nothing: a change of layout, which is tracked
Conv                                   Conv2D, kernel ``(out, in, kh, kw)`` -> ``(kh, kw, in, out)``
MaxPool                                MaxPool2D
BatchNormalization                     BatchNorm2D with the running statistics
Relu                                   ReLU
Flatten (axis 1) or Reshape to (N, -1) Flatten
Gemm, or MatMul (+ Add)                Dense
Softmax (last), Identity, Dropout      nothing
=====================================  ==============================================

Layout: ONNX's Conv reads NCHW. A graph that starts with ``Transpose(0, 3, 1, 2)`` takes
NHWC images, as do all of scratchcnn's; any other takes NCHW (PyTorch's convention).
scratchcnn's layers are NHWC throughout, so when a graph flattens an NCHW tensor (channels
slowest) the rows of the next dense layer are permuted into NHWC order (channels fastest):
``W_nhwc[(h*W + w)*C + c] = W_nchw[(c*H + h)*W + w]``.

The prologue ``(x * a - b) / d`` becomes ``{"scale": a, "mean": b, "std": d}``: a graph that
takes pixels 0-255 keeps taking pixels 0-255. A graph without a prologue gets
``scale = 1``: its input is used as it is.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from scratchcnn import functional as F
from scratchcnn.export import METADATA_KEYS, ExportError, require_onnx
from scratchcnn.i18n import tr
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Flatten, Layer, MaxPool2D, ReLU
from scratchcnn.model import Sequential

__all__ = ["SUPPORTED_OPS", "import_onnx"]

#: Operation types import_onnx understands (see the table above).
SUPPORTED_OPS = tuple(
    "Mul Sub Div Add Transpose Conv MaxPool BatchNormalization Relu Flatten Reshape Gemm "
    "MatMul Softmax Identity Dropout Constant".split()
)

PathLike = str | os.PathLike[str]

_TO_NCHW = [0, 3, 1, 2]
_TO_NHWC = [0, 2, 3, 1]
#: Operations that work the same on any layout (the input's is read from the first other).
_LAYOUT_FREE = {"Mul", "Sub", "Div", "Add", "Relu", "Identity", "Dropout", "Constant"}


def import_onnx(path: PathLike) -> Sequential:
    """Read an ONNX file into a :class:`Sequential` with its preprocessing in ``metadata``.

    Raises :class:`~scratchcnn.export.ExportError` naming the node for an operation or an
    attribute scratchcnn has no layer for, and ``OSError`` for a missing file.
    """
    onnx = require_onnx()
    source = os.fspath(path)
    with open(source, "rb") as handle:
        data = handle.read()
    try:
        proto = onnx.load_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ExportError(tr("export.unreadable", path=source, reason=exc)) from None
    if not proto.graph.node:
        raise ExportError(tr("export.unreadable", path=source, reason="the graph has no nodes"))
    return _Importer(onnx, proto, source).run()


class _Importer:
    """Walks the chain of nodes once, turning each into a layer (or into bookkeeping)."""

    def __init__(self, onnx: Any, proto: Any, source: str) -> None:
        self.onnx = onnx
        self.proto = proto
        self.source = source
        graph = proto.graph
        to_array = onnx.numpy_helper.to_array
        self.constants: dict[str, np.ndarray] = {t.name: to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                attribute = next((a for a in node.attribute if a.name == "value"), None)
                if attribute is None:
                    self._unsupported(node, " (only a 'value' tensor)")
                self.constants[node.output[0]] = to_array(attribute.t)
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1:
            self._fail(f"expected one image input, found {len(inputs)}")
        self.input = inputs[0]
        self.layers: list[Layer] = []
        # The prologue x' = (x * scale - mean) / std, composed op by op.
        self.scale = 1.0
        self.mean: np.ndarray = np.zeros(())
        self.std: np.ndarray = np.ones(())
        self.bias_pending = False  # the last node was a MatMul: an Add may give its bias
        self.flattened_chw: tuple[int, int, int] | None = None

    # --- errors -----------------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        raise ExportError(tr("export.bad_graph", path=self.source, reason=reason))

    def _unsupported(self, node: Any, detail: str = "") -> None:
        raise ExportError(
            tr(
                "export.unsupported_op",
                path=self.source,
                node=_name(node),
                op=node.op_type,
                detail=detail,
            ),
            hint=tr("export.supported_ops", names=", ".join(SUPPORTED_OPS)),
        )

    # --- the walk ---------------------------------------------------------------------
    def run(self) -> Sequential:
        height, width, channels = self._input_shape()
        self.shape: tuple[int, ...] = (height, width, channels)  # scratchcnn's, per image
        tensor = self.input.name
        finished = False
        for node in self.proto.graph.node:
            if node.op_type == "Constant":
                continue
            if finished:
                self._unsupported(node, " after the final Softmax")
            if node.op_type not in SUPPORTED_OPS:
                self._unsupported(node)
            if tensor not in node.input:
                self._fail(
                    f"node {_name(node)!r} ({node.op_type}) does not read {tensor!r}: "
                    "only a single chain of operations is supported"
                )
            bias_pending, self.bias_pending = self.bias_pending, False
            getattr(self, f"_op_{node.op_type.lower()}")(node, tensor, bias_pending)
            finished = node.op_type == "Softmax"
            tensor = node.output[0]
        if not self.layers:
            self._fail("the graph holds no layers")
        outputs = [o.name for o in self.proto.graph.output]
        if tensor not in outputs:
            self._fail(f"the chain ends in {tensor!r}, which is not a graph output {outputs}")
        model = Sequential(self.layers, input_shape=(height, width, channels))
        model.metadata.update(self._metadata())
        return model

    def _input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image, and the layout of the input (NHWC or NCHW)."""
        dims = [
            d.dim_value if d.HasField("dim_value") else None
            for d in self.input.type.tensor_type.shape.dim
        ]
        if len(dims) != 4 or None in dims[1:]:
            self._fail(
                f"input {self.input.name!r} has shape {_shape_text(dims)}; expected a batch of "
                "images (N, H, W, C) or (N, C, H, W) with fixed image sizes"
            )
        first = next((n for n in self.proto.graph.node if n.op_type not in _LAYOUT_FREE), None)
        starts_nhwc = (
            first is not None and first.op_type == "Transpose" and _ints(first, "perm") == _TO_NCHW
        )
        # scratchcnn's own graphs take NHWC even when no convolution needs a transpose.
        if starts_nhwc or self.proto.producer_name == "scratchcnn":
            self.layout = "NHWC"
            return dims[1], dims[2], dims[3]
        self.layout = "NCHW"
        return dims[2], dims[3], dims[1]

    def _metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        for prop in self.proto.metadata_props:
            if prop.key in METADATA_KEYS and prop.key != "preprocessing":
                try:
                    metadata[prop.key] = json.loads(prop.value)
                except ValueError:
                    metadata[prop.key] = prop.value
        metadata["preprocessing"] = {
            "scale": float(self.scale),
            "mean": _number_or_list(self.mean),
            "std": _number_or_list(self.std),
        }
        metadata["source"] = {"format": "onnx", "file": os.path.basename(self.source)}
        return metadata

    # --- helpers for the operations -----------------------------------------------------
    def _constant(self, node: Any, position: int) -> np.ndarray:
        if len(node.input) <= position or node.input[position] not in self.constants:
            self._unsupported(node, f" with a computed input {position}: it must be a constant")
        return np.asarray(self.constants[node.input[position]])

    def _require_layout(self, node: Any, layout: str) -> None:
        if self.layout != layout:
            self._unsupported(node, f" on a {self.layout} tensor (expected {layout})")

    def _add(self, layer: Layer) -> None:
        try:
            self.shape = layer.output_shape(self.shape)
        except (ValueError, IndexError) as exc:
            self._fail(f"layer {layer!r} does not fit its input {self.shape}: {exc}")
        if min(self.shape) <= 0:
            self._fail(f"layer {layer!r} leaves nothing of its input: output {self.shape}")
        self.layers.append(layer)

    def _per_channel(self, node: Any, value: np.ndarray) -> np.ndarray:
        """A prologue constant as a scalar or one value per channel, for the current layout."""
        value = np.asarray(value, dtype=np.float64)
        if value.size == 1:
            return value.reshape(())
        channels = self.shape[-1]
        if self.layout not in ("NHWC", "NCHW") or value.ndim > 4:
            self._unsupported(node, f" with a constant of shape {value.shape}")
        padded = (1,) * (4 - value.ndim) + value.shape
        axis = 3 if self.layout == "NHWC" else 1
        others = [size for i, size in enumerate(padded) if i != axis]
        if padded[axis] != channels or any(size != 1 for size in others):
            self._unsupported(
                node, f" with a constant of shape {value.shape}: expected one value per channel"
            )
        return value.reshape(channels)

    def _elementwise(self, node: Any, tensor: str, bias_pending: bool) -> None:
        op = node.op_type
        others = [name for name in node.input if name != tensor]
        if len(node.input) != 2 or len(others) != 1:
            self._unsupported(node, " that does not combine the running tensor with a constant")
        constant_first = node.input[0] != tensor
        if constant_first and op in ("Sub", "Div"):
            self._unsupported(node, f": a constant {op.lower()}s the running tensor")
        value = self._constant(node, 0 if constant_first else 1)
        if op == "Add" and bias_pending:
            dense = self.layers[-1]
            if value.size not in (1, dense.out_features):
                self._unsupported(node, f" with a bias of shape {value.shape}")
            self.layers[-1] = _dense(
                dense.params["weight"], np.broadcast_to(value.reshape(-1), (dense.out_features,))
            )
            return
        if self.layers:
            self._unsupported(node, " after the first layer (only the input may be normalised)")
        value = self._per_channel(node, value)
        untouched = not self.mean.any() and np.all(self.std == 1)
        if op in ("Mul", "Div") and np.any(value <= 0):
            self._unsupported(node, " by a value that is not positive")
        if op == "Mul" and untouched and value.ndim == 0:
            self.scale *= float(value)
        elif op == "Mul":
            self.std = self.std / value
        elif op == "Div":
            self.std = self.std * value
        elif op == "Sub":
            self.mean = self.mean + value * self.std
        else:
            self.mean = self.mean - value * self.std

    # --- one method per operation -----------------------------------------------------
    _op_mul = _op_sub = _op_div = _op_add = _elementwise

    def _op_identity(self, node: Any, tensor: str, bias_pending: bool) -> None:
        self.bias_pending = bias_pending

    def _op_dropout(self, node: Any, tensor: str, bias_pending: bool) -> None:
        if len(node.output) > 1 and node.output[1]:
            self._unsupported(node, " whose mask is used")

    def _op_transpose(self, node: Any, tensor: str, bias_pending: bool) -> None:
        perm = _ints(node, "perm")
        if self.layout == "NHWC" and perm == _TO_NCHW:
            self.layout = "NCHW"
        elif self.layout == "NCHW" and perm == _TO_NHWC:
            self.layout = "NHWC"
        else:
            self._unsupported(node, f" with perm {perm} on a {self.layout} tensor")

    def _op_conv(self, node: Any, tensor: str, bias_pending: bool) -> None:
        self._require_layout(node, "NCHW")
        weight = self._constant(node, 1)
        if weight.ndim != 4:
            self._unsupported(node, f" with a {weight.ndim}-D kernel")
        out_channels, in_channels, kh, kw = weight.shape
        if _int(node, "group", 1) != 1:
            self._unsupported(node, f" with group={_int(node, 'group', 1)}")
        if any(d != 1 for d in _ints(node, "dilations", [1, 1])):
            self._unsupported(node, f" with dilations {_ints(node, 'dilations')}")
        stride = tuple(_ints(node, "strides", [1, 1]))
        height, width, _ = self.shape
        same = F.resolve_padding("same", (kh, kw), stride, (height, width))
        auto_pad = _string(node, "auto_pad", "NOTSET")
        if auto_pad == "SAME_UPPER":
            pads = same
        elif auto_pad in ("NOTSET", "VALID"):
            top, left, bottom, right = _ints(node, "pads", [0, 0, 0, 0])
            pads = (top, bottom, left, right)
        else:
            self._unsupported(node, f" with auto_pad={auto_pad}")
        if pads == same and (pads[0] != pads[1] or pads[2] != pads[3]):
            padding: Any = "same"
        elif pads[0] == pads[1] and pads[2] == pads[3]:
            padding = (pads[0], pads[2])
        else:
            self._unsupported(node, f" with asymmetric pads {list(pads)} other than 'same'")
        bias = len(node.input) > 2 and node.input[2] != ""
        layer = Conv2D(in_channels, out_channels, (kh, kw), stride, padding, bias, rng=0)
        if in_channels != self.shape[2]:
            self._fail(f"node {_name(node)!r} expects {in_channels} channels, gets {self.shape[2]}")
        layer.params["weight"][...] = weight.transpose(2, 3, 1, 0)
        if bias:
            layer.params["bias"][...] = self._constant(node, 2)
        self._add(layer)

    def _op_maxpool(self, node: Any, tensor: str, bias_pending: bool) -> None:
        self._require_layout(node, "NCHW")
        for name, neutral in (("pads", 0), ("dilations", 1)):
            if any(v != neutral for v in _ints(node, name, [neutral])):
                self._unsupported(node, f" with {name} {_ints(node, name)}")
        if _int(node, "ceil_mode", 0) or _string(node, "auto_pad", "NOTSET") not in (
            "NOTSET",
            "VALID",
        ):
            self._unsupported(node, " with ceil_mode or auto_pad")
        if len(node.output) > 1 and node.output[1]:
            self._unsupported(node, " whose indices are used")
        pool = tuple(_ints(node, "kernel_shape"))
        self._add(MaxPool2D(pool, tuple(_ints(node, "strides", [1, 1]))))

    def _op_batchnormalization(self, node: Any, tensor: str, bias_pending: bool) -> None:
        self._require_layout(node, "NCHW")
        if _int(node, "training_mode", 0):
            self._unsupported(node, " in training mode")
        gamma, beta, mean, var = (self._constant(node, i).reshape(-1) for i in range(1, 5))
        layer = BatchNorm2D(gamma.size, eps=_float(node, "epsilon", 1e-5))
        if gamma.size != self.shape[2]:
            self._fail(f"node {_name(node)!r} holds {gamma.size} channels, gets {self.shape[2]}")
        layer.params["weight"][...] = gamma
        layer.params["bias"][...] = beta
        layer.buffers["running_mean"][...] = mean
        layer.buffers["running_var"][...] = var
        self._add(layer)

    def _op_relu(self, node: Any, tensor: str, bias_pending: bool) -> None:
        self._add(ReLU())

    def _op_flatten(self, node: Any, tensor: str, bias_pending: bool) -> None:
        if _int(node, "axis", 1) != 1:
            self._unsupported(node, f" with axis {_int(node, 'axis', 1)}")
        self._flatten()

    def _op_reshape(self, node: Any, tensor: str, bias_pending: bool) -> None:
        target = [int(v) for v in self._constant(node, 1).reshape(-1)]
        size = int(np.prod(self.shape))
        if not (
            len(target) == 2
            and target[0] in (0, -1)
            and target[1] in (-1, size)
            and target != [-1, -1]
        ):
            self._unsupported(node, f" to shape {target}: only flattening to (N, -1) is supported")
        self._flatten()

    def _flatten(self) -> None:
        if len(self.shape) == 1:
            return
        if self.layout == "NCHW":
            height, width, channels = self.shape
            self.flattened_chw = (channels, height, width)
        self.layout = "flat"
        self._add(Flatten())

    def _op_gemm(self, node: Any, tensor: str, bias_pending: bool) -> None:
        if node.input[0] != tensor or _int(node, "transA", 0):
            self._unsupported(node, " with the running tensor transposed or second")
        weight = self._constant(node, 1) * _float(node, "alpha", 1.0)
        if _int(node, "transB", 0):
            weight = weight.T
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = self._constant(node, 2).reshape(-1) * _float(node, "beta", 1.0)
            bias = np.broadcast_to(bias, (weight.shape[1],))
        self._dense(node, weight, bias)

    def _op_matmul(self, node: Any, tensor: str, bias_pending: bool) -> None:
        if node.input[0] != tensor:
            self._unsupported(node, " with the running tensor second")
        self._dense(node, self._constant(node, 1), None)
        self.bias_pending = True

    def _dense(self, node: Any, weight: np.ndarray, bias: np.ndarray | None) -> None:
        if weight.ndim != 2 or len(self.shape) != 1 or weight.shape[0] != self.shape[0]:
            self._fail(
                f"node {_name(node)!r} ({node.op_type}) has weights {weight.shape} for "
                f"input features {self.shape}"
            )
        if self.flattened_chw is not None:
            channels, height, width = self.flattened_chw
            weight = weight.reshape(channels, height, width, -1).transpose(1, 2, 0, 3)
            weight = weight.reshape(height * width * channels, -1)
            self.flattened_chw = None
        self._add(_dense(weight, bias))

    def _op_softmax(self, node: Any, tensor: str, bias_pending: bool) -> None:
        axis = _int(node, "axis", -1)
        if len(self.shape) != 1 or axis not in (-1, 1):
            self._unsupported(node, f" over axis {axis} of a {len(self.shape) + 1}-D tensor")


def _dense(weight: np.ndarray, bias: np.ndarray | None) -> Dense:
    layer = Dense(weight.shape[0], weight.shape[1], bias=bias is not None, rng=0)
    layer.params["weight"][...] = weight
    if bias is not None:
        layer.params["bias"][...] = bias
    return layer


# --- reading node attributes ----------------------------------------------------------------


def _attribute(node: Any, name: str) -> Any:
    return next((a for a in node.attribute if a.name == name), None)


def _ints(node: Any, name: str, default: list[int] | None = None) -> list[int] | None:
    attribute = _attribute(node, name)
    return default if attribute is None else [int(v) for v in attribute.ints]


def _int(node: Any, name: str, default: int) -> int:
    attribute = _attribute(node, name)
    return default if attribute is None else int(attribute.i)


def _float(node: Any, name: str, default: float) -> float:
    attribute = _attribute(node, name)
    return default if attribute is None else float(attribute.f)


def _string(node: Any, name: str, default: str) -> str:
    attribute = _attribute(node, name)
    return default if attribute is None else attribute.s.decode()


def _name(node: Any) -> str:
    return node.name or (node.output[0] if node.output else node.op_type)


def _shape_text(dims: list[int | None]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _number_or_list(value: np.ndarray) -> float | list[float]:
    return float(value) if value.ndim == 0 else [float(v) for v in value]

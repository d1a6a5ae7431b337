"""Stateful layers: each owns its parameters and computes their gradients by hand.

The contract every layer keeps:

- ``forward(x, training=False)`` returns the output and remembers what ``backward`` needs;
- ``backward(grad_out)`` returns ``dL/dx`` (or ``None`` when ``input_grad`` is False, which
  :class:`~scratchcnn.model.Sequential` sets on the first layer to skip useless work) and
  writes ``dL/dparam`` into ``grads`` *in place*, so optimisers may keep references;
- ``params`` and ``grads`` are dictionaries with the same keys (``"weight"``, ``"bias"``);
  ``buffers`` holds state that is saved but not trained (BatchNorm's running statistics).

Layers never update themselves: optimisers do (see :mod:`scratchcnn.optim`).
Activations are NHWC; parameters are float32 unless ``dtype=np.float64`` is asked for.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from scratchcnn import functional as F
from scratchcnn.initializers import RandomLike, as_generator, initialize

Shape = tuple[int, ...]


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; validates that both entries are positive integers."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


class Layer:
    """Base class: parameter bookkeeping, input checks and dtype handling."""

    #: Layer types by name, for rebuilding a model from its saved configuration.
    registry: ClassVar[dict[str, type[Layer]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Layer.registry[cls.__name__] = cls

    def __init__(self, dtype: np.dtype | type = np.float32) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(
                f"{type(self).__name__}: dtype must be float32 or float64, got {self.dtype}"
            )
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.input_grad = True

    # --- the contract -------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the layer's output for a batch ``x``."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Given ``dL/dy``, fill ``grads`` and return ``dL/dx``."""
        raise NotImplementedError

    def output_shape(self, input_shape: Shape) -> Shape:
        """Shape of one output sample for one input sample of ``input_shape``."""
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable, to rebuild the layer."""
        return {}

    # --- shared machinery ---------------------------------------------------------
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def _add_weights(
        self,
        shape: Shape,
        fan_in: int,
        fan_out: int,
        init: str,
        rng: RandomLike,
        bias: bool,
    ) -> None:
        """A ``weight`` of ``shape`` drawn by initialiser ``init`` and, if asked, a zero
        ``bias`` over the last axis (the outputs)."""
        self.init = init
        self._add_param("weight", initialize(init, shape, fan_in, fan_out, as_generator(rng)))
        if bias:
            self._add_param("bias", np.zeros(shape[-1]))

    def astype(self, dtype: np.dtype | type) -> Layer:
        """Convert parameters, gradients and buffers to ``dtype`` (float32 or float64)."""
        self.dtype = np.dtype(dtype)
        for store in (self.params, self.grads, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(self.dtype)
        return self

    def num_params(self) -> int:
        """Number of trainable scalars."""
        return sum(p.size for p in self.params.values())

    def _as_input(self, x: np.ndarray, ndim: int, expected: str) -> np.ndarray:
        """Check rank and numeric type of ``x`` and cast it to the layer's dtype."""
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise ValueError(f"{self!r} expected a numeric array, got dtype {x.dtype}")
        if x.ndim != ndim:
            raise ValueError(f"{self!r} expected {expected}, got an array of shape {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    def _check_grad(self, grad_out: np.ndarray, expected_shape: Shape) -> np.ndarray:
        if grad_out.shape != expected_shape:
            raise ValueError(
                f"{self!r}.backward expected a gradient of shape {expected_shape}, "
                f"got {grad_out.shape}"
            )
        if grad_out.dtype != self.dtype:
            grad_out = grad_out.astype(self.dtype)
        return grad_out

    def _require_forward(self, attribute: str) -> None:
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{self!r}.backward called before forward")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Conv2D(Layer):
    """2-D convolution (cross-correlation) of NHWC input with a ``(kh, kw, Cin, Cout)`` kernel.

    ``y[n,i,j,o] = b[o] + sum_{a,b,c} x_pad[n, i*s+a, j*s+b, c] * W[a,b,c,o]``, computed as
    one matrix product of the im2col patch matrix with the reshaped kernel.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: F.Padding = 0,
        bias: bool = True,
        *,
        init: str = "he_normal",
        rng: RandomLike = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__(dtype)
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(
                f"Conv2D channels must be positive, got {in_channels} -> {out_channels}"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}"
                )
            self.padding: F.Padding = padding
        else:
            pair = (padding, padding) if isinstance(padding, (int, np.integer)) else tuple(padding)
            if len(pair) != 2 or min(pair) < 0:
                raise ValueError(f"padding must be non-negative, got {padding!r}")
            self.padding = (int(pair[0]), int(pair[1]))
        kh, kw = self.kernel_size
        shape = (kh, kw, self.in_channels, self.out_channels)
        self._add_weights(shape, kh * kw * in_channels, kh * kw * out_channels, init, rng, bias)
        self._cols: np.ndarray | None = None
        self._pads_by_size: dict[tuple[int, int], F.Pads] = {}
        # Reused im2col matrices (see functional.scratch_buffer).
        self._workspace: F.Workspace = {}

    def _pads(self, hw: tuple[int, int]) -> F.Pads:
        pads = self._pads_by_size.get(hw)
        if pads is None:
            pads = F.resolve_padding(self.padding, self.kernel_size, self.stride, hw)
            self._pads_by_size[hw] = pads
        return pads

    def prepare_input(self, x: np.ndarray) -> tuple[np.ndarray, F.Pads]:
        """Check ``x`` (NHWC, this layer's channel count, at least one window) and return
        it in the layer's dtype with the explicit padding for its size."""
        x = self._as_input(x, 4, f"NHWC input (batch, height, width, {self.in_channels})")
        if x.shape[3] != self.in_channels:
            raise ValueError(
                f"{self!r} expected input with {self.in_channels} channels (NHWC), got {x.shape}"
            )
        pads = self._pads(x.shape[1:3])
        kh, kw = self.kernel_size
        if x.shape[1] + pads[0] + pads[1] < kh or x.shape[2] + pads[2] + pads[3] < kw:
            raise ValueError(f"{self!r} got input {x.shape}, smaller than its {kh}x{kw} kernel")
        return x, pads

    def forget_forward(self) -> None:
        """Drop what the last ``forward`` kept for ``backward`` (a fused step ran instead)."""
        self._cols = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x, pads = self.prepare_input(x)
        y, self._cols = F.conv2d_forward(
            x, self.params["weight"], self.params.get("bias"), self.stride, pads, self._workspace
        )
        self._input_shape = x.shape
        self._pads_used = pads
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self._require_forward("_cols")
        n, h, w, _ = self._input_shape
        oh, ow = self._cols.shape[1:3]
        grad_out = self._check_grad(grad_out, (n, oh, ow, self.out_channels))
        weight = self.params["weight"]
        self.grads["weight"][...] = F.conv2d_backward_weight(self._cols, grad_out, weight.shape)
        if "bias" in self.params:
            F.column_sums(
                grad_out.reshape(-1, self.out_channels), self.grads["bias"], self._workspace
            )
        if not self.input_grad:
            return None
        return F.conv2d_backward_input(
            grad_out, weight, (h, w), self.stride, self._pads_used, self._workspace
        )

    def output_shape(self, input_shape: Shape) -> Shape:
        h, w, _ = input_shape
        top, bottom, left, right = self._pads((h, w))
        oh = F.conv_output_size(h, self.kernel_size[0], self.stride[0], top, bottom)
        ow = F.conv_output_size(w, self.kernel_size[1], self.stride[1], left, right)
        return (oh, ow, self.out_channels)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": self.padding if isinstance(self.padding, str) else list(self.padding),
            "bias": "bias" in self.params,
            "init": self.init,
        }

    def __repr__(self) -> str:
        kh, kw = self.kernel_size
        extra = "" if self.stride == (1, 1) else f", stride {self.stride[0]}"
        if self.padding not in (0, (0, 0), "valid"):
            extra += f", padding {self.padding!r}"
        return f"Conv2D({self.in_channels} -> {self.out_channels}, {kh}x{kw}{extra})"


class MaxPool2D(Layer):
    """Max over ``pool_size`` windows moved by ``stride`` (default: the pool size).

    The gradient of each window goes to its first maximum in row-major order (ties do not
    duplicate gradient), as in PyTorch.
    """

    def __init__(
        self, pool_size: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.pool_size = _pair(pool_size, "pool_size")
        self.stride = self.pool_size if stride is None else _pair(stride, "stride")
        self._route: tuple[np.ndarray, ...] | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim != 4:
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(
                f"{self!r} expected NHWC input (batch, height, width, channels), got {shape}"
            )
        ph, pw = self.pool_size
        if x.shape[1] < ph or x.shape[2] < pw:
            raise ValueError(f"{self!r} got input {x.shape}, smaller than its {ph}x{pw} window")
        y, self._route = F.max_pool2d_forward(x, self.pool_size, self.stride)
        self._input_shape, self._output_shape = x.shape, y.shape
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self._require_forward("_route")
        if grad_out.shape != self._output_shape:
            raise ValueError(
                f"{self!r}.backward expected a gradient of shape {self._output_shape}, got {grad_out.shape}"
            )
        if not self.input_grad:
            return None
        return F.max_pool2d_backward(
            grad_out, self._route, self._input_shape, self.pool_size, self.stride
        )

    def output_shape(self, input_shape: Shape) -> Shape:
        h, w, c = input_shape
        return (
            F.conv_output_size(h, self.pool_size[0], self.stride[0], 0, 0),
            F.conv_output_size(w, self.pool_size[1], self.stride[1], 0, 0),
            c,
        )

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

    def __repr__(self) -> str:
        ph, pw = self.pool_size
        extra = "" if self.stride == self.pool_size else f", stride {self.stride[0]}"
        return f"MaxPool2D({ph}x{pw}{extra})"


class Dense(Layer):
    """Fully connected layer: ``y = x @ W + b`` with ``W`` of shape ``(in, out)``.

    Backward: ``dW = x^T @ dy``, ``db = sum_n dy``, ``dx = dy @ W^T``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str = "he_normal",
        rng: RandomLike = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__(dtype)
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Dense features must be positive, got {in_features} -> {out_features}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        shape = (self.in_features, self.out_features)
        self._add_weights(shape, self.in_features, self.out_features, init, rng, bias)
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._as_input(
            x, 2, f"a 2-D input (batch, {self.in_features}); add a Flatten layer before it"
        )
        if x.shape[1] != self.in_features:
            raise ValueError(
                f"{self!r} expected input with {self.in_features} features, got {x.shape}"
            )
        self._x = x
        y = x @ self.params["weight"]
        if "bias" in self.params:
            y += self.params["bias"]
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self._require_forward("_x")
        grad_out = self._check_grad(grad_out, (self._x.shape[0], self.out_features))
        # np.dot hands the transposed input to BLAS; np.matmul can take a slow loop here.
        np.dot(self._x.T, grad_out, out=self.grads["weight"])
        if "bias" in self.params:
            np.add.reduce(grad_out, axis=0, out=self.grads["bias"])
        if not self.input_grad:
            return None
        return grad_out @ self.params["weight"].T

    def output_shape(self, input_shape: Shape) -> Shape:
        return (self.out_features,)

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": "bias" in self.params,
            "init": self.init,
        }

    def __repr__(self) -> str:
        return f"Dense({self.in_features} -> {self.out_features})"


class ReLU(Layer):
    """``y = max(x, 0)``; the gradient passes where ``x > 0``."""

    def __init__(self) -> None:
        super().__init__()
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False, in_place: bool = False) -> np.ndarray:
        """``max(x, 0)``; with ``in_place`` written over ``x`` (which the caller owns),
        sparing a fresh array of ``x``'s size."""
        y = np.maximum(x, 0, out=x if in_place else None)
        self._mask = y > 0
        return y

    def backward(self, grad_out: np.ndarray, in_place: bool = False) -> np.ndarray | None:
        """``grad_out`` where the input was positive, 0 elsewhere; with ``in_place``
        written over ``grad_out``."""
        self._require_forward("_mask")
        if grad_out.shape != self._mask.shape:
            raise ValueError(
                f"{self!r}.backward expected a gradient of shape {self._mask.shape}, got {grad_out.shape}"
            )
        return np.multiply(grad_out, self._mask, out=grad_out if in_place else None)


class Flatten(Layer):
    """Reshape ``(N, H, W, C)`` to ``(N, H*W*C)`` in C order (channels fastest)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise ValueError(
                f"{self!r} expected a batch of at least 2 dimensions, got {getattr(x, 'shape', x)}"
            )
        self._input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self._require_forward("_input_shape")
        return grad_out.reshape(self._input_shape)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(input_shape)),)


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``rate`` and scale the
    survivors by ``1 / (1 - rate)`` so the expected output equals the input; at inference
    the layer is the identity. The mask comes from the layer's own Generator.
    """

    def __init__(self, rate: float, *, rng: RandomLike = None) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = as_generator(rng)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            self._identity = True
            return x
        self._identity = False
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = keep * np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype)
        return x * self._mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        if getattr(self, "_identity", None) is None:
            raise RuntimeError(f"{self!r}.backward called before forward")
        if self._identity:
            return grad_out
        return grad_out * self._mask

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate:g})"


class BatchNorm2D(Layer):
    """Batch normalisation over the batch and spatial axes of NHWC input, per channel.

    Training: ``x_hat = (x - mean) / sqrt(var + eps)``, ``y = gamma * x_hat + beta`` with
    the batch's mean and (biased) variance; running averages (``momentum`` weight on the new
    value, unbiased variance, as in PyTorch) are used at inference. Backward, with ``m``
    values per channel: ``dx = gamma / (m * std) * (m*dy - sum(dy) - x_hat * sum(dy*x_hat))``.
    At inference the statistics are constants and ``dx = gamma / sqrt(running_var + eps) * dy``;
    ``backward`` follows the mode of the last ``forward``.
    """

    def __init__(
        self,
        channels: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        *,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__(dtype)
        if channels <= 0:
            raise ValueError(f"BatchNorm2D channels must be positive, got {channels}")
        self.channels = int(channels)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self._add_param("weight", np.ones(self.channels))
        self._add_param("bias", np.zeros(self.channels))
        self.buffers["running_mean"] = np.zeros(self.channels, dtype=self.dtype)
        self.buffers["running_var"] = np.ones(self.channels, dtype=self.dtype)
        self._x_hat: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._as_input(x, 4, f"NHWC input (batch, height, width, {self.channels})")
        if x.shape[3] != self.channels:
            raise ValueError(
                f"{self!r} expected input with {self.channels} channels (NHWC), got {x.shape}"
            )
        gamma, beta = self.params["weight"], self.params["bias"]
        flat = x.reshape(-1, self.channels)
        m = flat.shape[0]
        self._training = training
        if not training:
            # A fixed affine map per channel: y = gamma * x_hat + beta with the running
            # statistics, so dy/dx = gamma / sqrt(running_var + eps).
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            x_hat = (flat - self.buffers["running_mean"]) * inv_std
            self._x_hat, self._inv_std, self._ones = x_hat, inv_std, np.ones(m, dtype=self.dtype)
            return (x_hat * gamma + beta).reshape(x.shape)
        if m < 2:
            raise ValueError(
                f"{self!r} needs more than one value per channel in training, got {x.shape}"
            )
        ones = np.ones(m, dtype=self.dtype)
        mean = (ones @ flat) / m
        centred = flat - mean
        var = (ones @ (centred * centred)) / m
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = centred * inv_std
        self._x_hat, self._inv_std, self._ones = x_hat, inv_std, ones
        mom = self.momentum
        self.buffers["running_mean"] *= 1 - mom
        self.buffers["running_mean"] += mom * mean
        self.buffers["running_var"] *= 1 - mom
        self.buffers["running_var"] += mom * var * (m / (m - 1))
        return (x_hat * gamma + beta).reshape(x.shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        self._require_forward("_x_hat")
        x_hat, inv_std, ones = self._x_hat, self._inv_std, self._ones
        m = x_hat.shape[0]
        shape = grad_out.shape
        g = self._check_grad(grad_out, shape).reshape(-1, self.channels)
        if g.shape != x_hat.shape:
            raise ValueError(
                f"{self!r}.backward expected a gradient of {x_hat.size} values, got {shape}"
            )
        sum_g = ones @ g
        sum_g_xhat = ones @ (g * x_hat)
        self.grads["bias"][...] = sum_g
        self.grads["weight"][...] = sum_g_xhat
        if not self.input_grad:
            return None
        if not self._training:
            # Inference: the statistics are constants, so the gradient is the per-channel scale.
            return (g * (self.params["weight"] * inv_std)).reshape(shape)
        scale = self.params["weight"] * inv_std / m
        return ((m * g - sum_g - x_hat * sum_g_xhat) * scale).reshape(shape)

    def get_config(self) -> dict[str, Any]:
        return {"channels": self.channels, "momentum": self.momentum, "eps": self.eps}

    def __repr__(self) -> str:
        return f"BatchNorm2D({self.channels})"

"""The model container: a stack of layers run in order, and back again."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from scratchcnn.fusion import Step, plan
from scratchcnn.layers import Conv2D, Dense, Layer
from scratchcnn.losses import softmax
from scratchcnn.parallel import parallel_plan
from scratchcnn.parameter import Parameter
from scratchcnn.tables import display_width, format_table
from scratchcnn.threads import engine_threads

Shape = tuple[int, ...]


class Sequential:
    """Layers applied one after the other: ``y = f_n(... f_2(f_1(x)))``.

    ``backward`` runs the chain rule in reverse, each layer turning ``dL/d(output)`` into
    ``dL/d(input)``. The first layer does not compute the gradient of the model's input
    (nobody needs it in training) unless ``input_grad=True``.

    With ``fuse`` (the default), ``forward`` and ``backward`` run each Conv2D followed by
    (a ReLU and) a 2x2 MaxPool2D as one fused step (:mod:`scratchcnn.fusion`), with the
    same results; the layers, and everything that looks at them one by one, stay as they are.
    Under :func:`scratchcnn.threads.limit_threads` with more than one thread, stretches of
    per-sample steps run on parts of the batch side by side (:mod:`scratchcnn.parallel`).
    """

    def __init__(
        self,
        layers: Iterable[Layer],
        input_shape: Shape | None = None,
        input_grad: bool = False,
        fuse: bool = True,
    ) -> None:
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a scratchcnn Layer")
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.input_grad = input_grad
        #: Whether forward/backward may run layer groups as fused steps.
        self.fuse = fuse
        self._plan_key: tuple[int, ...] | None = None
        self._plan: list[Step] = []
        self._last_steps: list[Step] | None = None
        #: Free-form, JSON-serialisable facts saved with the model (preprocessing, classes).
        self.metadata: dict[str, Any] = {}

    @property
    def input_grad(self) -> bool:
        """Whether ``backward`` returns the gradient with respect to the model's input."""
        return self.layers[0].input_grad

    @input_grad.setter
    def input_grad(self, value: bool) -> None:
        self.layers[0].input_grad = bool(value)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.forward(x, training)

    def steps(self) -> list[Step]:
        """What ``forward`` runs: the layers, with fusable groups as single steps.

        Planned once for a given list of layers and engine thread count and kept, with the
        fused steps' buffers.
        """
        threads = engine_threads()
        if not self.fuse and threads == 1:
            return self.layers
        key = (threads, *map(id, self.layers))
        if key != self._plan_key:
            steps = plan(self.layers) if self.fuse else list(self.layers)
            self._plan, self._plan_key = parallel_plan(steps, threads), key
        return self._plan

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Run every layer on the batch ``x``; ``training`` enables dropout and batch stats."""
        steps = self._last_steps = self.steps()
        for step in steps:
            x = step.forward(x, training)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray | None:
        """Back-propagate ``dL/d(output)``; fills every layer's ``grads``."""
        grad: np.ndarray | None = grad_out
        for step in reversed(self._last_steps or self.layers):
            grad = step.backward(grad)
            if grad is None:
                break
        return grad

    def parameters(self) -> list[Parameter]:
        """Every trainable array with its gradient, named ``"<layer index>.<key>"``."""
        params = []
        for i, layer in enumerate(self.layers):
            decays = isinstance(layer, (Conv2D, Dense))
            for key, value in layer.params.items():
                params.append(
                    Parameter(f"{i}.{key}", value, layer.grads[key], decays and key == "weight")
                )
        return params

    def num_params(self) -> int:
        """Number of trainable scalars."""
        return sum(layer.num_params() for layer in self.layers)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters (float32 unless converted)."""
        for layer in self.layers:
            if layer.params:
                return layer.dtype
        return self.layers[0].dtype

    def astype(self, dtype: np.dtype | type) -> Sequential:
        """Convert every layer to ``dtype`` in place (build optimisers afterwards)."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    # --- inference ------------------------------------------------------------------
    def predict_logits(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Logits for any number of inputs, computed ``batch_size`` at a time."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        x = np.asarray(x)
        if x.shape[0] == 0:
            raise ValueError("predict needs at least one input")
        chunks = [self.forward(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]

    def predict_proba(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class probabilities ``softmax(logits)``, batched to bound memory."""
        return softmax(self.predict_logits(x, batch_size))

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The most probable class of each input."""
        return self.predict_logits(x, batch_size).argmax(axis=-1)

    # --- description ----------------------------------------------------------------
    def output_shapes(self, input_shape: Shape | None = None) -> list[Shape]:
        """The per-sample output shape after each layer."""
        shape = tuple(input_shape or self.input_shape or ())
        if not shape:
            raise ValueError("output shapes need an input shape: pass input_shape=(28, 28, 1)")
        shapes = []
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        return shapes

    def summary(
        self,
        input_shape: Shape | None = None,
        print_fn: Any = print,
        labels: dict[str, str] | None = None,
    ) -> str:
        """A Keras-style table of layers, output shapes and parameter counts; printed and returned.

        ``labels`` replaces the English words (keys ``layer``, ``output_shape``, ``params``,
        ``total``, ``input``), so the command line can print the table in its language.
        """
        words = {
            "layer": "Layer",
            "output_shape": "Output shape",
            "params": "Params",
            "total": "Total params",
            "input": "Input shape",
            **(labels or {}),
        }
        shapes = self.output_shapes(input_shape)
        rows = [(words["layer"], words["output_shape"], words["params"])]
        for i, (layer, shape) in enumerate(zip(self.layers, shapes)):
            rows.append((f"{i}: {layer!r}", str((None, *shape)), f"{layer.num_params():,}"))
        header, *body = format_table(rows, "llr").splitlines()
        rule = "-" * max(display_width(line) for line in (header, *body))
        lines = [
            rule,
            header,
            "=" * len(rule),
            *body,
            rule,
            f"{words['total']}: {self.num_params():,}",
            f"{words['input']}: {(None, *tuple(input_shape or self.input_shape))}",
        ]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # --- state ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter and buffer, named ``"<layer index>.<key>"``."""
        state = {}
        for i, layer in enumerate(self.layers):
            for key, value in {**layer.params, **layer.buffers}.items():
                state[f"{i}.{key}"] = value
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy arrays into the model in place; every name and shape must match."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"state does not fit the model: missing {missing}, unexpected {unexpected}"
            )
        for key, target in own.items():
            value = np.asarray(state[key])
            if value.shape != target.shape:
                raise ValueError(
                    f"{key}: saved shape {value.shape} does not fit the model's {target.shape}"
                )
            target[...] = value

    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON-serialisable data (layer types and arguments)."""
        return {
            "layers": [
                {"type": type(layer).__name__, **layer.get_config()} for layer in self.layers
            ],
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "dtype": str(self.dtype),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild a model (with fresh weights) from :meth:`get_config`'s output."""
        dtype = np.dtype(config.get("dtype", "float32"))
        layers = []
        for spec in config["layers"]:
            spec = dict(spec)
            kind = spec.pop("type")
            layer_type = Layer.registry.get(kind)
            if layer_type is None:
                raise ValueError(f"unknown layer type {kind!r}")
            layer = layer_type(**spec)
            layers.append(layer.astype(dtype) if layer.params else layer)
        shape = config.get("input_shape")
        return cls(layers, input_shape=tuple(shape) if shape else None)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"

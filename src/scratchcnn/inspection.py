"""Looking inside a trained model: each layer's output and the input gradient (saliency).

Both come from the engine itself: feature maps are what each layer's ``forward`` returns
at inference, and saliency is the layer chain's own ``backward`` of a one-hot gradient at
the chosen class, ``d(logit_k) / d(input)``, down to the input (Simonyan et al., 2014).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchcnn.model import Sequential


def layer_outputs(model: Sequential, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run ``x`` through ``model`` at inference and return ``(layer name, output)`` per layer.

    The name is the layer's index and ``repr``, e.g. ``"0 Conv2D(1 -> 8, 3x3)"``; the last
    output is the model's logits.
    """
    outputs: list[tuple[str, np.ndarray]] = []
    for index, layer in enumerate(model):
        x = layer.forward(x, training=False)
        outputs.append((f"{index} {layer!r}", x))
    return outputs


def saliency(
    model: Sequential, x: np.ndarray, target: np.ndarray | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of each sample's class score with respect to its input.

    ``target`` picks the class per sample (default: the predicted one). With ``z`` the
    logits, the upstream gradient is the one-hot ``dz_k/dz``, so the result is
    ``d z_k / d x``, shaped like ``x``. Returns ``(gradient, target classes)``. The layers'
    ``grads`` are overwritten as a side effect; parameters are not touched.
    """
    logits = model.forward(x, training=False)
    classes = np.broadcast_to(
        logits.argmax(axis=1) if target is None else np.asarray(target, dtype=np.int64),
        (logits.shape[0],),
    )
    return _class_score_gradient(model, logits, classes, model.backward), np.array(classes)


def _class_score_gradient(
    model: Sequential, logits: np.ndarray, classes: np.ndarray, backward: Any
) -> np.ndarray:
    """``d z_k / d x`` for the class ``k`` of each sample: ``backward`` (the model's, or
    its layers' one by one) of the one-hot gradient at ``classes``, with the model's input
    gradient switched on for the call."""
    upstream = np.zeros_like(logits)
    upstream[np.arange(logits.shape[0]), classes] = 1
    wanted = model.input_grad
    model.input_grad = True
    try:
        grad = backward(upstream)
    finally:
        model.input_grad = wanted
    assert grad is not None
    return grad


def saliency_map(model: Sequential, x: np.ndarray, target: np.ndarray | int | None = None) -> np.ndarray:
    """``|d z_k / d x|`` reduced over channels to ``(N, H, W)``, scaled to [0, 1] per sample."""
    grad, _ = saliency(model, x, target)
    return _scaled_magnitude(grad)


def outputs_and_saliency_map(
    model: Sequential, x: np.ndarray
) -> tuple[list[tuple[str, np.ndarray]], np.ndarray]:
    """:func:`layer_outputs` and :func:`saliency_map` at the predicted classes, from one
    forward pass: the backward pass runs layer by layer on what :func:`layer_outputs`
    left in the layers' caches."""
    outputs = layer_outputs(model, x)
    logits = outputs[-1][1]

    def layer_by_layer(grad: np.ndarray | None) -> np.ndarray | None:
        for layer in reversed(model.layers):
            grad = layer.backward(grad)
        return grad

    grad = _class_score_gradient(model, logits, logits.argmax(axis=1), layer_by_layer)
    return outputs, _scaled_magnitude(grad)


def _scaled_magnitude(grad: np.ndarray) -> np.ndarray:
    """``|grad|``, its maximum over channels, scaled to [0, 1] per sample."""
    magnitude = np.abs(grad).max(axis=-1) if grad.ndim == 4 else np.abs(grad)
    peak = magnitude.reshape(len(magnitude), -1).max(axis=1)
    return magnitude / np.where(peak > 0, peak, 1).reshape(-1, *([1] * (magnitude.ndim - 1)))

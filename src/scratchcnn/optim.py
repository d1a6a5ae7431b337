"""Optimisers: update rules that turn gradients into parameter changes, in place.

An optimiser is built from :class:`~scratchcnn.parameter.Parameter` objects (see
``Sequential.parameters()``); ``step()`` reads each ``grad`` and updates each ``value``.
``lr`` is a plain attribute, so a schedule (:mod:`scratchcnn.schedules`) can set it before
each step. ``state_dict()`` holds everything needed to resume exactly.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from scratchcnn.parameter import Parameter
from scratchcnn.schedules import ConstantLR, CosineLR, OneCycleLR, Schedule, StepLR

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "ConstantLR",
    "CosineLR",
    "OneCycleLR",
    "Optimizer",
    "Schedule",
    "StepLR",
]


class Optimizer:
    """Common bookkeeping: the parameter list, the learning rate and a step counter."""

    #: Names of the per-parameter state arrays, e.g. ``("momentum",)``.
    slots: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got no parameters to optimise")
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.steps = 0
        self.state: dict[str, list[np.ndarray]] = {
            slot: [np.zeros_like(p.value) for p in self.params] for slot in self.slots
        }

    def step(self) -> None:
        """Apply one update to every parameter from its current gradient."""
        self.steps += 1
        for i, p in enumerate(self.params):
            self._update(i, p)

    def _update(self, i: int, p: Parameter) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat dictionary of arrays: ``steps``, ``lr`` and ``<slot>/<param name>``."""
        state = {"steps": np.asarray(self.steps), "lr": np.asarray(self.lr)}
        for slot, arrays in self.state.items():
            for p, array in zip(self.params, arrays):
                state[f"{slot}/{p.name}"] = array
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` returned (arrays are copied in place)."""
        self.steps = int(state["steps"])
        self.lr = float(state["lr"])
        for slot, arrays in self.state.items():
            for p, array in zip(self.params, arrays):
                key = f"{slot}/{p.name}"
                if key not in state:
                    raise KeyError(f"optimiser state lacks {key!r}")
                if state[key].shape != array.shape:
                    raise ValueError(
                        f"optimiser state {key!r} has shape {state[key].shape}, expected {array.shape}"
                    )
                array[...] = state[key]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    With ``g = grad + wd * p``: ``v = mu * v + g``; ``p -= lr * (g + mu * v)`` for Nesterov,
    ``p -= lr * v`` otherwise (PyTorch's formulation); plain ``p -= lr * g`` when ``mu = 0``.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.slots = ("momentum",) if momentum else ()
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, i: int, p: Parameter) -> None:
        value, g = p.value, p.grad
        if self.weight_decay and p.decay:
            g = g + self.weight_decay * value
        if self.momentum:
            v = self.state["momentum"][i]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        value -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction and optional L2 weight decay.

    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g^2``,
    ``p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``.
    """

    slots = ("m", "v")
    decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2 = (float(b) for b in betas)
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.eps = float(eps)

    def _update(self, i: int, p: Parameter) -> None:
        value, g = p.value, p.grad
        if self.weight_decay and p.decay:
            if self.decoupled:
                value *= 1.0 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * value
        m, v = self.state["m"][i], self.state["v"][i]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        t = self.steps
        step_size = self.lr / (1.0 - self.beta1**t)
        denom = np.sqrt(v / (1.0 - self.beta2**t))
        denom += self.eps
        value -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``p *= 1 - lr*wd``
    before the Adam step, instead of adding ``wd * p`` to the gradient."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

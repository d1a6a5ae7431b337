"""Learning-rate schedules: pure functions of the step number.

A schedule maps the index of the optimisation step about to run (0, 1, 2, ...) to a
learning rate. Keeping them stateless makes resuming exact: the training loop sets
``optimizer.lr = schedule(step)`` before every step.
"""

from __future__ import annotations

import math


class Schedule:
    """Base class; subclasses implement ``__call__(step) -> lr``."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError


class ConstantLR(Schedule):
    """``lr(t) = lr``."""

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)

    def __call__(self, step: int) -> float:
        return self.lr


class StepLR(Schedule):
    """``lr(t) = lr * gamma ** floor(t / step_size)``: drop by ``gamma`` every ``step_size``."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        if step_size <= 0:
            raise ValueError(f"step_size must be positive, got {step_size}")
        self.lr, self.step_size, self.gamma = float(lr), int(step_size), float(gamma)

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)


class CosineLR(Schedule):
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at ``total_steps``.

    After warm-up, with progress ``q`` in [0, 1]: ``lr(q) = min + (lr - min)(1 + cos(pi q))/2``.
    """

    def __init__(
        self, lr: float, total_steps: int, min_lr: float = 0.0, warmup_steps: int = 0
    ) -> None:
        if total_steps <= 0 or not 0 <= warmup_steps < total_steps:
            raise ValueError(
                f"need 0 <= warmup_steps < total_steps, got {warmup_steps}, {total_steps}"
            )
        self.lr, self.min_lr = float(lr), float(min_lr)
        self.total_steps, self.warmup_steps = int(total_steps), int(warmup_steps)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        q = min(1.0, (step - self.warmup_steps) / span)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * q))


class OneCycleLR(Schedule):
    """Smith's one-cycle policy, as in PyTorch's ``OneCycleLR`` (cosine annealing).

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start``
    of the steps, then falls to ``max_lr / (div_factor * final_div_factor)``.
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        if total_steps <= 1:
            raise ValueError(f"total_steps must be at least 2, got {total_steps}")
        if not 0.0 < pct_start < 1.0:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)
        self.initial_lr = self.max_lr / div_factor
        self.final_lr = self.initial_lr / final_div_factor
        self.peak_step = float(pct_start * total_steps) - 1.0

    @staticmethod
    def _cos_anneal(start: float, end: float, q: float) -> float:
        return end + (start - end) / 2.0 * (math.cos(math.pi * q) + 1.0)

    def __call__(self, step: int) -> float:
        step = min(step, self.total_steps - 1)
        if step <= self.peak_step:
            return self._cos_anneal(self.initial_lr, self.max_lr, step / max(self.peak_step, 1e-12))
        span = self.total_steps - 1 - self.peak_step
        return self._cos_anneal(self.max_lr, self.final_lr, (step - self.peak_step) / span)

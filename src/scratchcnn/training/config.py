"""What one training run does: its hyper-parameters and the pieces they name.

A :class:`TrainConfig` is plain JSON-serialisable data (checkpoints store it);
:func:`build_optimizer`, :func:`build_schedule` and :func:`augment` turn it into the
optimiser, the learning-rate schedule and the augmentation of a batch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchcnn.augment import random_flip, random_shift
from scratchcnn.model import Sequential
from scratchcnn.optim import SGD, Adam, AdamW, Optimizer
from scratchcnn.schedules import ConstantLR, CosineLR, OneCycleLR, Schedule, StepLR

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "onecycle")


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all JSON-serialisable)."""

    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    label_smoothing: float = 0.0
    shift: int = 0
    flip: bool = False
    validation_split: float = 0.0
    seed: int = 0
    #: Train on the first ``train_size`` training images only (quick experiments).
    train_size: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch size must be at least 1, got {self.batch_size}"),
            (
                math.isfinite(self.lr) and self.lr > 0,
                f"learning rate must be positive, got {self.lr}",
            ),
            (
                self.optimizer in OPTIMIZERS,
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}",
            ),
            (
                self.schedule in SCHEDULES,
                f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}",
            ),
            (0.0 <= self.momentum < 1.0, f"momentum must be in [0, 1), got {self.momentum}"),
            (self.weight_decay >= 0.0, f"weight decay must be >= 0, got {self.weight_decay}"),
            (
                0.0 <= self.label_smoothing < 1.0,
                f"label smoothing must be in [0, 1), got {self.label_smoothing}",
            ),
            (0 <= self.shift <= 8, f"shift must be between 0 and 8 pixels, got {self.shift}"),
            (
                0.0 <= self.validation_split < 1.0,
                f"validation split must be in [0, 1), got {self.validation_split}",
            ),
            (
                self.train_size is None or self.train_size >= 1,
                f"train size must be at least 1, got {self.train_size}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def changed(self, **overrides: Any) -> tuple[TrainConfig, dict[str, Any]]:
        """A copy with the ``overrides`` that are not None, and those that differ from self.

        Raises ``ValueError`` (naming the field) when the result is not a valid config.
        """
        current = self.to_dict()
        unknown = set(overrides) - set(current)
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(sorted(unknown))}")
        given = {k: v for k, v in overrides.items() if v is not None}
        differing = {k: v for k, v in given.items() if v != current[k]}
        return TrainConfig(**{**current, **given}), differing

    def describe(self) -> str:
        """One line: epochs, batch, optimiser, schedule and what augmentation is on."""
        parts = [
            f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}",
            f"batch {self.batch_size}",
            f"{self.optimizer} lr {self.lr:g}",
            f"{self.schedule} schedule",
        ]
        if self.shift:
            parts.append(f"shifts up to {self.shift} px")
        if self.flip:
            parts.append("random mirroring")
        if self.validation_split:
            parts.append(f"validation {self.validation_split:.0%}")
        if self.train_size:
            parts.append(f"first {self.train_size:,} images")
        return ", ".join(parts)


#: The names of the fields, for front ends that offer one option per field.
CONFIG_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrainConfig))


def build_optimizer(config: TrainConfig, model: Sequential) -> Optimizer:
    """The optimiser the config names, over the model's parameters."""
    params = model.parameters()
    if config.optimizer == "sgd":
        return SGD(
            params,
            config.lr,
            config.momentum,
            config.nesterov and config.momentum > 0,
            config.weight_decay,
        )
    if config.optimizer == "adam":
        return Adam(params, config.lr, weight_decay=config.weight_decay)
    return AdamW(params, config.lr, weight_decay=config.weight_decay)


def build_schedule(config: TrainConfig, steps_per_epoch: int) -> Schedule:
    """The learning-rate schedule the config names, over the whole run."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "constant":
        return ConstantLR(config.lr)
    if config.schedule == "step":
        return StepLR(config.lr, step_size=max(1, total // 3), gamma=0.1)
    if config.schedule == "cosine":
        return CosineLR(config.lr, total_steps=total)
    return OneCycleLR(config.lr, total_steps=max(total, 2))


def augment(images: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """The config's augmentation of one batch: random shifts, then random mirroring."""
    if config.shift:
        images = random_shift(images, config.shift, rng)
    if config.flip:
        images = random_flip(images, rng)
    return images


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The shuffled order of ``count`` samples in ``epoch``: a function of the seed only."""
    return np.random.default_rng([seed, epoch]).permutation(count)


def validation_split(seed: int, count: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: a seeded random ``fraction`` held out."""
    order = np.random.default_rng([seed, 2**31]).permutation(count)
    held = round(count * fraction)
    return np.sort(order[held:]), np.sort(order[:held])


def fit_preprocessing(images: np.ndarray) -> dict[str, Any]:
    """Scale to [0, 1], then centre and scale by the training set's mean and std."""
    sample = np.asarray(images, dtype=np.float64) / 255.0
    std = float(sample.std())
    return {"scale": 1 / 255, "mean": float(sample.mean()), "std": std if std > 0 else 1.0}

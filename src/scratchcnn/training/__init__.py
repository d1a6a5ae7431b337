"""Training: the loop (:mod:`.loop`), its settings (:mod:`.config`) and hooks (:mod:`.callbacks`).

``evaluate`` lives with the metrics (:mod:`scratchcnn.metrics`) and is re-exported here.
"""

from scratchcnn.metrics import Evaluation, evaluate
from scratchcnn.training.callbacks import Callback, EpochPrinter, ProgressBar
from scratchcnn.training.config import (
    CONFIG_FIELDS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    augment,
    build_optimizer,
    build_schedule,
    epoch_order,
    fit_preprocessing,
    validation_split,
)
from scratchcnn.training.loop import (
    TRAINING_STATE_VERSION,
    DivergenceError,
    EpochLog,
    Summary,
    Trainer,
    TrainingInterrupted,
    TrainingStopped,
    resume_trainer,
    write_checkpoint,
)

__all__ = [
    "CONFIG_FIELDS",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRAINING_STATE_VERSION",
    "Callback",
    "DivergenceError",
    "EpochLog",
    "EpochPrinter",
    "Evaluation",
    "ProgressBar",
    "Summary",
    "TrainConfig",
    "Trainer",
    "TrainingInterrupted",
    "TrainingStopped",
    "augment",
    "build_optimizer",
    "build_schedule",
    "epoch_order",
    "evaluate",
    "fit_preprocessing",
    "resume_trainer",
    "validation_split",
    "write_checkpoint",
]

"""The original notebook's network, reproduced exactly (see docs/classic.md).

- :mod:`~scratchcnn.classic.notebook`: the notebook's ``Conv3x3``, ``MaxPool2`` and
  ``Softmax``, loop for loop, the version to read beside the notebook;
- :mod:`~scratchcnn.classic.fast`: :class:`FastCNN`, the same arithmetic on whole arrays;
- :mod:`~scratchcnn.classic.run`: the notebook's two experiments and their messages.
"""

from scratchcnn.classic.fast import FastCNN, PreparedImages, sum_of_nine
from scratchcnn.classic.notebook import (
    NOTEBOOK_SEED,
    ClassicCNN,
    Conv3x3,
    MaxPool2,
    Softmax,
    as_random_state,
    exp_and_sum,
    preprocess,
    softmax_gradient,
)
from scratchcnn.classic.run import LANGUAGES, MESSAGES, ClassicConfig, run_classic

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "NOTEBOOK_SEED",
    "ClassicCNN",
    "ClassicConfig",
    "Conv3x3",
    "FastCNN",
    "MaxPool2",
    "PreparedImages",
    "Softmax",
    "as_random_state",
    "exp_and_sum",
    "preprocess",
    "run_classic",
    "softmax_gradient",
    "sum_of_nine",
]

"""``scratchcnn.datasets`` is :mod:`scratchcnn.data.datasets`, under its earlier, shorter name.

The module replaces itself in ``sys.modules``, so both names are one and the same module
object (``from scratchcnn import datasets`` and ``import scratchcnn.data.datasets`` see the
same functions, and patching one patches the other).
"""

import importlib
import sys

sys.modules[__name__] = importlib.import_module("scratchcnn.data.datasets")

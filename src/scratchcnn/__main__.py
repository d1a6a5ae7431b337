"""``python -m scratchcnn`` runs the command line."""

import sys

from scratchcnn.cli import main

sys.exit(main())

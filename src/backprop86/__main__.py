"""``python -m backprop86`` runs the command line."""

import sys

from backprop86.cli import main

sys.exit(main())

"""``python -m sacredboard STORE``."""

import sys

from sacredboard.cli import main

sys.exit(main())

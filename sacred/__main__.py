"""``python -m sacred``: the ``sacred`` console command (docs/store.md), for when the
console script is not on PATH (a venv that is not activated, Windows' Scripts dir)."""

import sys

from sacred.store.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""Entry point: ``python -m petri_runner``."""

from __future__ import annotations

import sys

from petri_runner.cli import main

if __name__ == "__main__":
    sys.exit(main())

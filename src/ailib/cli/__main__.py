"""``python -m ailib.cli``: the ``ailib`` command."""

from __future__ import annotations

import sys

from ailib.cli import main

sys.exit(main())

"""``python -m kcolor.cli``: the ``kcolor`` command."""

import sys

from kcolor.cli import main

sys.exit(main())

"""``python -m aacn``: the same as the ``aacn`` command."""

import sys

from .cli import main

sys.exit(main())

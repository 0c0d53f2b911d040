"""``python -m bertclf.cli``: the ``bertclf`` command."""

import sys

from bertclf.cli import main

sys.exit(main())

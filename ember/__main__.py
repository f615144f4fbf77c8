"""``python -m ember ...``: the same command line as ``ember ...``."""

import sys

from ember.cli import main

sys.exit(main())

"""``python -m wfnb``: the same as the ``wfnb`` command."""

import sys

from wfnb.cli import main

sys.exit(main())

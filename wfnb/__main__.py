"""``python -m wfnb``: the same as the ``wfnb`` command."""

import sys

from wfnb.frontends.cli import main

sys.exit(main())

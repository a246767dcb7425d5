"""`python -m server`: the same as `graph-engine serve`."""

import sys

from server.cli import main

sys.exit(main())

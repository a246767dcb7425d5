"""`python -m graph_engine` is the `graph-engine` command."""

import sys

from graph_engine.cli import main

sys.exit(main())

"""`python -m server ...`: the same as `graph-engine serve ...`."""

import sys

from graph_engine.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))

"""The `graph-engine` command line.

Subcommands live in modules that expose `register(subparsers)`; each parser they add sets
`handler(args) -> exit code`. The engine's own are listed in `SUBCOMMAND_MODULES`; optional
ones from other parts of the project (the server's `serve`) are added when importable.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence

SUBCOMMAND_MODULES = ("graph_engine.cli.run", "graph_engine.cli.inspect")
OPTIONAL_SUBCOMMAND_MODULES = ("server.cli",)


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent package itself is missing
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graph-engine",
        description="Run typed node-graph workflows (JSON) with a caching executor.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    for module_name in OPTIONAL_SUBCOMMAND_MODULES:
        if not _module_exists(module_name):
            continue
        try:
            module = importlib.import_module(module_name)
            module.register(subparsers)
        except Exception as error:  # a broken optional command must not take the others down
            print(f"warning: cannot load commands from {module_name}: {error}", file=sys.stderr)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (e.g. `graph-engine nodes | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

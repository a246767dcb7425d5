"""The `graph-engine` command line.

Each subcommand is a module with `add_arguments(parser)` and `run(args) -> exit code` (and
optionally `HELP`, else the first docstring line is the help text, and `ALIASES`). `SUBCOMMANDS` maps
names to the engine's own; `OPTIONAL_SUBCOMMANDS` names commands from other parts of the
project (the server's `serve`), added when their module is importable. Every subcommand
gets `--pack MODULE:ATTR` (read as `args.pack`, a list) and `--no-installed-packs` (read as
`args.installed_packs`); `graph_engine.cli.common.load_registry(args)` honours both. Every
subcommand also gets `--workflows DIR` (`args.workflow_dirs`), honoured by
`graph_engine.cli.common.load_library(args)`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

SUBCOMMANDS = {
    "run": "graph_engine.cli.run",
    "validate": "graph_engine.cli.validate",
    "nodes": "graph_engine.cli.nodes",
    "schema": "graph_engine.cli.schema",
    "workflows": "graph_engine.cli.workflows",
    "pin": "graph_engine.cli.pin",
    "import": "graph_engine.cli.import_workflow",
    "export": "graph_engine.cli.export_workflow",
}
OPTIONAL_SUBCOMMANDS = {"serve": "server.cli"}


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent package itself is missing
        return False


def _add_subcommand(subparsers: argparse._SubParsersAction, name: str, module: ModuleType) -> None:
    summary = getattr(module, "HELP", None) or (module.__doc__ or "").strip().splitlines()[0]
    parser = subparsers.add_parser(name, help=summary, description=summary, aliases=getattr(module, "ALIASES", ()))
    module.add_arguments(parser)
    parser.add_argument(
        "--pack",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="also load the node pack MODULE:ATTR (besides installed entry-point packs); repeatable",
    )
    parser.add_argument(
        "--no-installed-packs",
        dest="installed_packs",
        action="store_false",
        help="do not load the packs installed under the 'graph_engine.node_packs' entry point (only --pack ones)",
    )
    parser.add_argument(
        "--workflows",
        dest="workflow_dirs",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also use the workflows in DIR as library workflows (before $GRAPH_ENGINE_WORKFLOWS and installed "
        "workflow packs); repeatable",
    )
    parser.set_defaults(handler=module.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graph-engine",
        description="Run typed node-graph workflows (JSON) with a caching executor.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        _add_subcommand(subparsers, name, importlib.import_module(module_name))
    for name, module_name in OPTIONAL_SUBCOMMANDS.items():
        if not _module_exists(module_name):
            continue
        try:
            _add_subcommand(subparsers, name, importlib.import_module(module_name))
        except Exception as error:  # a broken optional command must not take the others down
            print(f"warning: cannot load the {name!r} command from {module_name}: {error}", file=sys.stderr)
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

"""`graph-engine nodes`: list the node types of the installed (and --pack) node packs, and the
library workflows usable as nodes (category "workflows")."""

from __future__ import annotations

import argparse
import json
import sys

from graph_engine.cli.common import EXIT_OK, load_library, load_registry
from graph_engine.spec import NodeSpec
from graph_engine.subworkflows import catalogue, library_workflows

HELP = "list the available nodes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the full catalogue (types and node schemas)")


def _signature(spec: NodeSpec) -> str:
    inputs = ", ".join(f"{item.name}: {item.type.name}" for item in spec.inputs)
    outputs = ", ".join(f"{item.name}: {item.type.name}" for item in spec.outputs) or "(output node)"
    return f"{spec.name}({inputs}) -> {outputs}"


def run(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    library = load_library(args)
    if args.json:
        print(json.dumps(catalogue(registry, library), indent=2, sort_keys=True))
        return EXIT_OK
    found = library_workflows(registry, library)
    for item in found:
        if item.problem is not None:
            message = f"warning: library workflow {item.entry.name!r} is not usable as a node: {item.problem}"
            print(message, file=sys.stderr)
    workflow_specs = [item.spec for item in found if item.spec is not None]
    by_category: dict[str, list[NodeSpec]] = {}
    for spec in [*registry.nodes.values(), *workflow_specs]:
        by_category.setdefault(spec.category or "uncategorised", []).append(spec)
    if not by_category:
        print("no nodes: no node pack is installed (see --pack)")
    for category in sorted(by_category):
        print(f"{category}:")
        for spec in sorted(by_category[category], key=lambda item: item.name):
            summary = spec.description.splitlines()[0] if spec.description else ""
            print(f"  {_signature(spec)}" + (f"\n      {summary}" if summary else ""))
    return EXIT_OK

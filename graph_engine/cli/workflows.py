"""`graph-engine workflows`: list the library's workflows (name, source, params, outputs)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from graph_engine.cli.common import EXIT_OK, load_library, load_registry
from graph_engine.subworkflows import library_workflows

HELP = "list the library workflows (usable by name, and as nodes of type workflow:NAME)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print them as JSON (with typed params and outputs)")


def run(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    library = load_library(args)
    listing: list[dict[str, Any]] = []
    for found in library_workflows(registry, library):
        entry, spec = found.entry, found.spec
        item: dict[str, Any] = {"name": entry.name, "source": entry.source, "path": str(entry.path)}
        if spec is None:
            item["problem"] = found.problem
        else:
            described = spec.to_json()
            item.update(
                description=spec.description,
                hash=spec.definition_hash,
                params=described["inputs"],
                outputs=described["outputs"],
                output_node=spec.output_node,
            )
        listing.append(item)
    if args.json:
        print(json.dumps(listing, indent=2, sort_keys=True))
        return EXIT_OK
    if not listing:
        print("no library workflows: pass --workflows DIR, set $GRAPH_ENGINE_WORKFLOWS or install a workflow pack")
    for item in listing:
        print(f"{item['name']}  [{item['source']}]  {item['path']}")
        if "problem" in item:
            print(f"    unusable: {item['problem']}")
            continue
        if item["description"]:
            print(f"    {item['description']}")
        params = ", ".join(f"{param['name']}: {param['type']}" for param in item["params"])
        outputs = ", ".join(f"{output['name']}: {output['type']}" for output in item["outputs"])
        print(f"    params: {params or 'none'}")
        print(f"    outputs: {outputs or 'none'}{' (+ output nodes)' if item['output_node'] else ''}")
    return EXIT_OK

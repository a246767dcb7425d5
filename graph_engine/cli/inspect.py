"""`graph-engine validate | nodes | schema`: check workflows, list nodes, print JSON Schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from graph_engine.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_pack_option,
    load_registry,
    parse_assignment,
    print_issues,
)
from graph_engine.document import load_workflow, workflow_json_schema_text
from graph_engine.events import event_json_schema
from graph_engine.issues import WorkflowValidationError
from graph_engine.spec import NodeSpec
from graph_engine.validation import validate_workflow


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate", help="check a workflow without running it", description="Validate a workflow file."
    )
    validate.add_argument("workflow", type=Path)
    add_pack_option(validate)
    validate.add_argument(
        "--set", dest="assignments", action="append", default=[], type=parse_assignment, metavar="NAME=VALUE"
    )
    validate.set_defaults(handler=validate_command)

    nodes = subparsers.add_parser("nodes", help="list the available nodes", description="List node types.")
    add_pack_option(nodes)
    nodes.add_argument("--json", action="store_true", help="print the full catalogue (types and node schemas)")
    nodes.set_defaults(handler=nodes_command)

    schema = subparsers.add_parser("schema", help="print a JSON Schema", description="Print a JSON Schema.")
    schema.add_argument("which", nargs="?", choices=("workflow", "events"), default="workflow")
    schema.set_defaults(handler=schema_command)


def validate_command(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    try:
        workflow = load_workflow(args.workflow)
        compiled = validate_workflow(workflow, registry, dict(args.assignments), params_as_text=True)
    except OSError as error:
        print(f"cannot read {args.workflow}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    except WorkflowValidationError as error:
        print_issues(error)
        return EXIT_INVALID
    outputs = [*compiled.outputs, *compiled.output_nodes]
    print(f"ok: {len(compiled.nodes)} nodes, outputs: {', '.join(outputs)}")
    return EXIT_OK


def _signature(spec: NodeSpec) -> str:
    inputs = ", ".join(f"{item.name}: {item.type.name}" for item in spec.inputs)
    outputs = ", ".join(f"{item.name}: {item.type.name}" for item in spec.outputs) or "(output node)"
    return f"{spec.name}({inputs}) -> {outputs}"


def nodes_command(args: argparse.Namespace) -> int:
    registry = load_registry(args)
    if args.json:
        print(json.dumps(registry.catalogue(), indent=2, sort_keys=True))
        return EXIT_OK
    by_category: dict[str, list[NodeSpec]] = {}
    for spec in registry.nodes.values():
        by_category.setdefault(spec.category or "uncategorised", []).append(spec)
    if not by_category:
        print("no nodes: no node pack is installed (see --pack)")
    for category in sorted(by_category):
        print(f"{category}:")
        for spec in sorted(by_category[category], key=lambda item: item.name):
            summary = spec.description.splitlines()[0] if spec.description else ""
            print(f"  {_signature(spec)}" + (f"\n      {summary}" if summary else ""))
    return EXIT_OK


def schema_command(args: argparse.Namespace) -> int:
    if args.which == "events":
        print(json.dumps(event_json_schema(), indent=2, sort_keys=True))
    else:
        sys.stdout.write(workflow_json_schema_text())
    return EXIT_OK

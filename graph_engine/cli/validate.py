"""`graph-engine validate`: check a workflow (and parameter values) without running it."""

from __future__ import annotations

import argparse
from pathlib import Path

from graph_engine.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_set_argument,
    load_library,
    load_registry,
    print_issues,
    read_workflow,
    workflow_path,
)
from graph_engine.issues import WorkflowValidationError
from graph_engine.subworkflows import compile_workflow

HELP = "check a workflow without running it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON file (or PNG), or the name of a library workflow")
    add_set_argument(parser, "check with this param (or node.input) value; repeatable")


def run(args: argparse.Namespace) -> int:
    library = load_library(args)
    workflow = read_workflow(workflow_path(args.workflow, library), args)
    if workflow is None:
        return EXIT_INVALID
    try:
        compiled = compile_workflow(
            workflow, load_registry(args), dict(args.assignments), params_as_text=True, library=library
        )
    except WorkflowValidationError as error:
        print_issues(error)
        return EXIT_INVALID
    outputs = [*compiled.outputs, *compiled.output_nodes]
    print(f"ok: {len(compiled.nodes)} nodes, outputs: {', '.join(outputs)}")
    return EXIT_OK

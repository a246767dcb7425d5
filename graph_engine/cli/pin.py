"""`graph-engine pin`: pin every workflow node of a workflow file to its current definition."""

from __future__ import annotations

import argparse
from pathlib import Path

from graph_engine.cli.common import EXIT_INVALID, EXIT_OK, load_library, load_registry, print_issues, read_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.subworkflows import update_pins

HELP = "pin the workflow nodes of a workflow file to the current content hash of their definitions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON file, rewritten in place (unless -o)")
    parser.add_argument("-o", "--output", type=Path, help="write the pinned workflow here instead")


def run(args: argparse.Namespace) -> int:
    workflow = read_workflow(args.workflow)
    if workflow is None:
        return EXIT_INVALID
    try:
        pinned, changes = update_pins(workflow, load_registry(args), load_library(args))
    except WorkflowValidationError as error:
        print_issues(error)
        return EXIT_INVALID
    for change in changes:
        print(f"pinned {change}")
    if not changes:
        print("nothing to pin: every workflow node is pinned to its current definition (or there are none)")
    target = args.output or args.workflow
    if changes or args.output:
        pinned.save(target)
    return EXIT_OK

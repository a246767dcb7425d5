"""`graph-engine import`: another tool's workflow (a ComfyUI JSON or PNG, ...) as our workflow file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graph_engine.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_set_argument,
    load_registry,
    print_issues,
)
from graph_engine.importing import UnreadableDocument, import_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.validation import assign_params, validate_workflow

HELP = "convert a workflow from another tool (ComfyUI API/editor JSON, or a PNG carrying one) to ours"
ALIASES = ("import-comfy",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="JSON file or PNG image with an embedded workflow")
    parser.add_argument("-o", "--output", type=Path, help="write the workflow here (default: stdout)")
    add_set_argument(parser, "write this param (or node.input) value into the workflow, e.g. checkpoint=tiny-shapes; repeatable")


def run(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return EXIT_INVALID
    registry = load_registry(args)
    try:
        imported = import_workflow(data, registry, name=args.file.stem)
        workflow = assign_params(imported.workflow, registry, dict(args.assignments), params_as_text=True)
    except UnreadableDocument as error:
        print(f"cannot import {args.file}: {error}", file=sys.stderr)
        return EXIT_INVALID
    except WorkflowValidationError as error:
        print_issues(error)
        return EXIT_INVALID
    for warning in imported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output:
        workflow.save(args.output)
    else:
        sys.stdout.write(workflow.to_json())
    params = ", ".join(workflow.params) or "none"
    print(f"imported {imported.format}: {len(workflow.nodes)} nodes; params: {params}", file=sys.stderr)
    try:
        validate_workflow(workflow, registry)
    except WorkflowValidationError as error:
        print("it does not validate yet:", file=sys.stderr)
        for issue in error.issues:
            print(f"  {issue}", file=sys.stderr)
    return EXIT_OK

"""`graph-engine export`: our workflow in another tool's format (ComfyUI's API format by default)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from graph_engine.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_set_argument,
    load_registry,
    print_issues,
    read_workflow,
)
from graph_engine.importing import ExportError, export_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.validation import assign_params

HELP = "write a workflow in another tool's format (default: ComfyUI's API format) for the nodes that map"
ALIASES = ("export-comfy",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON file (or a PNG carrying one)")
    parser.add_argument("-o", "--output", type=Path, help="write the document here (default: stdout)")
    parser.add_argument("--format", default="comfyui-api", help="the format to write (default: comfyui-api)")
    add_set_argument(parser, "export with this param (or node.input) value; repeatable")


def run(args: argparse.Namespace) -> int:
    workflow = read_workflow(args.workflow, args)
    if workflow is None:
        return EXIT_INVALID
    registry = load_registry(args)
    try:
        workflow = assign_params(workflow, registry, dict(args.assignments), params_as_text=True)
        exported = export_workflow(workflow, args.format, registry)
    except WorkflowValidationError as error:
        print_issues(error)
        return EXIT_INVALID
    except ExportError as error:
        print(error, file=sys.stderr)
        return EXIT_INVALID
    except ValueError as error:
        print(f"cannot export: {error}", file=sys.stderr)
        return EXIT_INVALID
    for warning in exported.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    text = json.dumps(exported.document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK

"""Helpers shared by the subcommands: the registry, KEY=VALUE arguments, error printing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from graph_engine.document import Workflow, load_workflow
from graph_engine.importing import NATIVE_FORMAT, UnreadableDocument, import_workflow
from graph_engine.issues import WorkflowValidationError
from graph_engine.library import WORKFLOW_PACK_GROUP, WorkflowLibrary
from graph_engine.registry import Registry

EXIT_OK = 0
EXIT_NODE_FAILED = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


def load_registry(args: argparse.Namespace) -> Registry:
    """Installed entry-point packs (unless --no-installed-packs) plus the --pack ones.

    Load problems become warnings on stderr.
    """
    registry = Registry.discover() if getattr(args, "installed_packs", True) else Registry()
    for reference in args.pack:
        registry.load_reference(reference)
    for problem in registry.problems:
        print(f"warning: node pack {problem.pack}: {problem.message}", file=sys.stderr)
    return registry


def load_library(args: argparse.Namespace) -> WorkflowLibrary:
    """--workflows folders, then $GRAPH_ENGINE_WORKFLOWS, then installed workflow packs
    (unless --no-installed-packs). Load problems become warnings on stderr."""
    group = WORKFLOW_PACK_GROUP if getattr(args, "installed_packs", True) else None
    library = WorkflowLibrary.discover(getattr(args, "workflow_dirs", []), group=group)
    for problem in library.problems:
        print(f"warning: workflow pack {problem.source}: {problem.message}", file=sys.stderr)
    return library


def workflow_path(argument: Path, library: WorkflowLibrary) -> Path:
    """A workflow argument as a file: the path itself, or a library workflow of that name."""
    if argument.exists():
        return argument
    entry = library.find(str(argument))
    return entry.path if entry is not None else argument


def read_workflow(path: Path, args: argparse.Namespace | None = None) -> Workflow | None:
    """The workflow at `path`, or None after printing why it cannot be read or parsed (and, given
    the command's `args` for the registry, how to import it if it is another tool's format)."""
    try:
        return load_workflow(path)
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
    except WorkflowValidationError as error:
        print_issues(error)
        if args is not None:
            _hint_import(path, args)
    return None


def _hint_import(path: Path, args: argparse.Namespace) -> None:
    try:
        imported = import_workflow(path.read_bytes(), load_registry(args))
    except (OSError, UnreadableDocument, WorkflowValidationError):
        return
    if imported.format != NATIVE_FORMAT:
        command = f"graph-engine import {path} -o WORKFLOW.json"
        print(f"hint: {path} is a {imported.format} document: convert it with `{command}`", file=sys.stderr)


def add_set_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """`--set NAME=VALUE` (repeatable), read as `args.assignments`: a list of (NAME, VALUE)."""
    parser.add_argument(
        "--set", dest="assignments", action="append", default=[], type=parse_assignment, metavar="NAME=VALUE", help=help
    )


def parse_assignment(text: str) -> tuple[str, str]:
    """ "NAME=VALUE" -> (NAME, VALUE); used as an argparse type, so errors exit with code 2."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def split_values(text: str) -> list[str]:
    """Split a --sweep value list on commas; "\\," is a literal comma."""
    values, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def print_issues(error: WorkflowValidationError, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr  # looked up per call: tests and callers may swap sys.stderr
    count = len(error.issues)
    print(f"invalid workflow: {count} problem{'s' if count != 1 else ''}", file=stream)
    for issue in error.issues:
        print(f"  {issue}", file=stream)

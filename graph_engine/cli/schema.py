"""`graph-engine schema`: print the JSON Schema of workflow documents (or of events)."""

from __future__ import annotations

import argparse
import json
import sys

from graph_engine.cli.common import EXIT_OK
from graph_engine.document import workflow_json_schema_text
from graph_engine.events import event_json_schema

HELP = "print the JSON Schema of workflows (default) or events"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("which", nargs="?", choices=("workflow", "events"), default="workflow")


def run(args: argparse.Namespace) -> int:
    if args.which == "events":
        print(json.dumps(event_json_schema(), indent=2, sort_keys=True))
    else:
        sys.stdout.write(workflow_json_schema_text())
    return EXIT_OK

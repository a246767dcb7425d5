"""`graph-engine run`: run a workflow (or a sweep of variants) and print its outputs."""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from graph_engine.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_NODE_FAILED,
    EXIT_OK,
    add_set_argument,
    load_library,
    load_registry,
    parse_assignment,
    print_issues,
    read_workflow,
    split_values,
    workflow_path,
)
from graph_engine.cli.progress import progress_printer
from graph_engine.events import Event
from graph_engine.executor import Executor, RunResult
from graph_engine.issues import ValidationIssue, WorkflowValidationError
from graph_engine.values import summarize

HELP = "run a workflow (or a sweep of variants) and print its outputs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow", type=Path, help="workflow JSON file (or PNG), or the name of a library workflow")
    add_set_argument(parser, "set a param (by name) or any input (as node.input); repeatable")
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        type=parse_assignment,
        metavar="NAME=V1,V2,...",
        help="run once per value (several --sweep: every combination), in one process so "
        "unchanged nodes come from the cache; '\\,' is a literal comma",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("output"), help="where nodes write files")
    parser.add_argument("--events", type=Path, metavar="FILE.jsonl", help="write every event as a JSON line")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPU threads for torch (default: torch's choice); 1 is fastest for tiny models on small machines",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not reuse results between sweep variants")
    parser.add_argument("--explain", action="store_true", help="print why each node ran or came from the cache")


def variants(sweeps: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Every combination of the swept values (one empty variant without sweeps)."""
    names = [name for name, _ in sweeps]
    choices = [split_values(values) for _, values in sweeps]
    return [dict(zip(names, combination, strict=True)) for combination in itertools.product(*choices)]


@contextmanager
def interrupt_on_sigint(executor: Executor) -> Iterator[None]:
    """First Ctrl-C: interrupt the run cooperatively. Second: the usual KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        print("\ninterrupting (Ctrl-C again to abort)...", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        executor.interrupt()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def print_result(result: RunResult, stream: TextIO, explain: bool) -> None:
    for name, value in result.outputs.items():
        print(f"{name}: {summarize(value)}", file=stream)
    for path in result.files:
        print(f"wrote {path}", file=stream)
    for failure in result.failures.values():
        print(
            f"node {failure.node_id} ({failure.node_type}) failed: {failure.error_type}: {failure.message}", file=stream
        )
    if explain:
        print(result.explain(), file=stream)


def exit_code(result: RunResult) -> int:
    return {"success": EXIT_OK, "failed": EXIT_NODE_FAILED, "interrupted": EXIT_INTERRUPTED}[result.status]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def set_torch_threads(count: int) -> None:
    """Intra-op threads for torch, when it is installed (the engine itself does not need it)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(count)


def run(args: argparse.Namespace) -> int:
    library = load_library(args)
    workflow = read_workflow(workflow_path(args.workflow, library), args)
    if workflow is None:
        return EXIT_INVALID
    registry = load_registry(args)
    if args.threads is not None:
        set_torch_threads(args.threads)
    executor = Executor(registry, device=args.device, output_dir=args.output_dir, library=library)
    executor.cache.enabled = not args.no_cache
    runs = [{**dict(args.assignments), **variant} for variant in variants(args.sweep)]
    # Check every variant before running any: a typo in the last value should not cost a sweep.
    problems: list[ValidationIssue] = []
    for params in runs:
        try:
            executor.validate(workflow, params, params_as_text=True)
        except WorkflowValidationError as error:
            problems.extend(issue for issue in error.issues if issue not in problems)
    if problems:
        print_issues(WorkflowValidationError(problems))
        return EXIT_INVALID

    listeners: list[Any] = [progress_printer(sys.stderr)]
    events_file = args.events.open("w", encoding="utf-8") if args.events else None
    if events_file is not None:

        def write_event(event: Event) -> None:
            events_file.write(event.model_dump_json() + "\n")
            events_file.flush()

        listeners.append(write_event)
    worst = EXIT_OK
    try:
        with interrupt_on_sigint(executor):
            for number, params in enumerate(runs, start=1):
                if len(runs) > 1:
                    shown = " ".join(f"{name}={value}" for name, value in params.items() if name in dict(args.sweep))
                    print(f"[{number}/{len(runs)}] {shown}", file=sys.stdout)
                result = executor.run(workflow, params, params_as_text=True, on_event=listeners)
                print_result(result, sys.stdout, args.explain)
                worst = max(worst, exit_code(result))
                if result.status == "interrupted":
                    break
    finally:
        if events_file is not None:
            events_file.close()
    return worst

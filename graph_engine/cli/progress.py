"""Showing a run's events on the terminal: tqdm bars on a TTY, plain lines otherwise."""

from __future__ import annotations

from typing import Any, TextIO

from graph_engine.events import (
    Event,
    NodeCached,
    NodeFailed,
    NodeFinished,
    NodeProgress,
    NodeSkipped,
    NodeStarted,
    RunFailed,
    RunFinished,
    RunInterrupted,
    RunStarted,
)

NodeOutcome = NodeFinished | NodeCached | NodeSkipped | NodeFailed
NODE_OUTCOMES = (NodeFinished, NodeCached, NodeSkipped, NodeFailed)


def _indent(text: str) -> str:
    return "".join(f"      {line}\n" for line in text.rstrip().splitlines())


def describe_outcome(event: NodeOutcome) -> str:
    if isinstance(event, NodeFinished):
        files = f", wrote {', '.join(event.files)}" if event.files else ""
        return f"done in {event.duration_s:.2f}s{files}"
    if isinstance(event, NodeCached):
        return "cached"
    if isinstance(event, NodeSkipped):
        return f"skipped: {event.cause} failed" if event.cause else "skipped: not needed"
    return f"FAILED: {event.error_type}: {event.message}"


class PlainProgress:
    """One line per node (and per 10% of a node's steps), for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.total = 0
        self.done = 0
        self.last_decile: dict[str, int] = {}

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.total, self.done = len(event.nodes), 0
            self.write(f"run {event.run_id[:8]}: {self.total} nodes")
        elif isinstance(event, NodeStarted):
            self.write(f"  {event.node_id} ({event.node_type}) running: {event.reason}")
        elif isinstance(event, NodeProgress):
            decile = int(10 * event.value / event.total) if event.total else 0
            if decile > self.last_decile.get(event.node_id, -1):
                self.last_decile[event.node_id] = decile
                self.write(f"  {event.node_id}: {event.value:g}/{event.total:g}")
        elif isinstance(event, NODE_OUTCOMES):
            self.done += 1
            self.write(f"  [{self.done}/{self.total}] {event.node_id} ({event.node_type}) {describe_outcome(event)}")
            if isinstance(event, NodeFailed) and event.traceback:
                self.stream.write(_indent(event.traceback))
        elif isinstance(event, RunFinished):
            self.write(f"finished in {event.duration_s:.2f}s: {event.ran} ran, {event.cached} cached")
        elif isinstance(event, RunFailed):
            self.write(f"failed after {event.duration_s:.2f}s: {', '.join(event.failed_nodes)} failed")
        elif isinstance(event, RunInterrupted):
            where = f" in {event.node_id}" if event.node_id else ""
            self.write(f"interrupted{where} after {event.duration_s:.2f}s")


class BarProgress:
    """A tqdm bar over the run's nodes, plus a bar for the steps of the running node."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.run_bar: Any = None
        self.step_bar: Any = None

    def close_step_bar(self) -> None:
        if self.step_bar is not None:
            self.step_bar.close()
            self.step_bar = None

    def __call__(self, event: Event) -> None:
        from tqdm import tqdm

        if isinstance(event, RunStarted):
            self.run_bar = tqdm(total=len(event.nodes), desc="nodes", unit="node", file=self.stream, position=0)
        elif self.run_bar is None:
            return
        elif isinstance(event, NodeStarted):
            self.run_bar.set_description_str(f"{event.node_id} ({event.node_type})")
        elif isinstance(event, NodeProgress):
            if self.step_bar is None:
                self.step_bar = tqdm(
                    total=event.total, desc=event.node_id, unit="step", file=self.stream, position=1, leave=False
                )
            self.step_bar.total = event.total
            self.step_bar.update(event.value - self.step_bar.n)
        elif isinstance(event, NODE_OUTCOMES):
            self.close_step_bar()
            self.run_bar.update(1)
            if isinstance(event, NodeFailed):
                self.run_bar.write(f"{event.node_id} ({event.node_type}) {describe_outcome(event)}")
                self.run_bar.write(_indent(event.traceback).rstrip("\n"))
        else:  # the run ended
            self.close_step_bar()
            self.run_bar.set_description_str(event.type.removeprefix("run_"))
            self.run_bar.close()
            self.run_bar = None


def progress_printer(stream: TextIO) -> PlainProgress | BarProgress:
    return BarProgress(stream) if stream.isatty() else PlainProgress(stream)

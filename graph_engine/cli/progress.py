"""Showing a run's events on the terminal: tqdm bars on a TTY, plain lines otherwise."""

from __future__ import annotations

from typing import Any, TextIO

from graph_engine.events import Event


def _indent(text: str) -> str:
    return "".join(f"      {line}\n" for line in text.rstrip().splitlines())


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

    def position(self) -> str:
        return f"[{self.done}/{self.total}]"

    def __call__(self, event: Event) -> None:
        kind = event.type
        if kind == "run_started":
            self.total, self.done = len(event.nodes), 0
            self.write(f"run {event.run_id[:8]}: {self.total} nodes")
        elif kind == "node_started":
            self.write(f"  {event.node_id} ({event.node_type}) running: {event.reason}")
        elif kind == "node_progress":
            decile = int(10 * event.value / event.total) if event.total else 0
            if decile > self.last_decile.get(event.node_id, -1):
                self.last_decile[event.node_id] = decile
                self.write(f"  {event.node_id}: {event.value:g}/{event.total:g}")
        elif kind in ("node_finished", "node_cached", "node_skipped", "node_failed"):
            self.done += 1
            self.write(f"  {self.position()} {event.node_id} ({event.node_type}) {self.node_outcome(event)}")
            if kind == "node_failed" and event.traceback:
                self.stream.write(_indent(event.traceback))
        elif kind == "run_finished":
            self.write(f"finished in {event.duration_s:.2f}s: {event.ran} ran, {event.cached} cached")
        elif kind == "run_failed":
            self.write(f"failed after {event.duration_s:.2f}s: {', '.join(event.failed_nodes)} failed")
        elif kind == "run_interrupted":
            where = f" in {event.node_id}" if event.node_id else ""
            self.write(f"interrupted{where} after {event.duration_s:.2f}s")

    @staticmethod
    def node_outcome(event: Any) -> str:
        if event.type == "node_finished":
            files = f", wrote {', '.join(event.files)}" if event.files else ""
            return f"done in {event.duration_s:.2f}s{files}"
        if event.type == "node_cached":
            return "cached"
        if event.type == "node_skipped":
            return f"skipped: {event.cause} failed" if event.cause else "skipped: not needed"
        return f"FAILED: {event.error_type}: {event.message}"


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

        kind = event.type
        if kind == "run_started":
            self.run_bar = tqdm(total=len(event.nodes), desc="nodes", unit="node", file=self.stream, position=0)
        elif self.run_bar is None:
            return
        elif kind == "node_started":
            self.run_bar.set_description_str(f"{event.node_id} ({event.node_type})")
        elif kind == "node_progress":
            if self.step_bar is None:
                self.step_bar = tqdm(
                    total=event.total, desc=event.node_id, unit="step", file=self.stream, position=1, leave=False
                )
            self.step_bar.total = event.total
            self.step_bar.update(event.value - self.step_bar.n)
        elif kind in ("node_finished", "node_cached", "node_skipped", "node_failed"):
            self.close_step_bar()
            self.run_bar.update(1)
            if kind == "node_failed":
                self.run_bar.write(f"{event.node_id} ({event.node_type}) FAILED: {event.error_type}: {event.message}")
                self.run_bar.write(_indent(event.traceback).rstrip("\n"))
        else:  # the run ended
            self.close_step_bar()
            self.run_bar.set_description_str(kind.removeprefix("run_"))
            self.run_bar.close()
            self.run_bar = None


def progress_printer(stream: TextIO) -> PlainProgress | BarProgress:
    return BarProgress(stream) if stream.isatty() else PlainProgress(stream)

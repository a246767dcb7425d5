"""Data-parallel training on one machine's CPU cores: one process per core, gradients averaged.

On a small CPU two single-threaded processes train faster than one process with two threads
(small tensors keep a second thread half idle). Every worker draws the whole batch's random
numbers from the same per-step generator and keeps its own rows, and gradients are averaged
before each optimiser step, so all workers hold identical weights and the run trains the model
that one process with the whole batch would (up to the order of float sums).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.multiprocessing


@dataclass(frozen=True)
class Workers:
    """This process's place among `count` workers; rank 0 logs, samples and saves."""

    rank: int = 0
    count: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def rows(self, batch_size: int) -> slice:
        """This worker's rows of a batch."""
        if batch_size % self.count:
            raise ValueError(f"batch size {batch_size} does not split evenly over {self.count} workers")
        share = batch_size // self.count
        return slice(self.rank * share, (self.rank + 1) * share)

    def average_gradients(self, parameters: list[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over the workers (one all-reduce of a flat buffer)."""
        if self.count == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in parameters]
        flat = torch.cat([grad.reshape(-1) for grad in grads])
        dist.all_reduce(flat)
        flat /= self.count
        offset = 0
        for parameter, grad in zip(parameters, grads):
            parameter.grad = flat[offset : offset + grad.numel()].view_as(grad)
            offset += grad.numel()

    def barrier(self) -> None:
        if self.count > 1:
            dist.barrier()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(rank: int, count: int, port: int, threads: int | None, body: Callable[[Workers], None]) -> None:
    if threads:
        torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=count)
    try:
        body(Workers(rank, count))
    finally:
        dist.destroy_process_group()


def run_workers(count: int, threads: int | None, body: Callable[[Workers], None]) -> None:
    """Run `body` in `count` processes joined by a gloo group on loopback (in this process when count is 1);
    `threads` torch threads in each (None: torch's choice)."""
    if count == 1:
        if threads:
            torch.set_num_threads(threads)
        body(Workers())
        return
    torch.multiprocessing.spawn(_worker, args=(count, _free_port(), threads, body), nprocs=count, join=True)

"""The cost of workflows used as nodes: compiling (resolve, expand, validate) and running a
chain built from sub-workflow nodes, against the same chain written out flat.

    python bench/bench_subworkflows.py [--blocks 10,100] [--block-size 10] [--depth 3]

Each block is a library workflow: a chain of `--block-size` trivial nodes with a param `x`
and an output `value`. The outer workflow chains `--blocks` such nodes. The depth case wraps
one block in `--depth` levels of workflows. Times are medians of 5; ratios are against the
flat chain measured in the same process. "compile" is a first compilation (the executor's
compilation memo cleared); "re-run" has both results and compilation memoised.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_engine import PACK, document, link  # noqa: E402

from graph_engine import Executor, Registry, ResultCache, WorkflowFolder, WorkflowLibrary  # noqa: E402
from graph_engine.planning import plan_run  # noqa: E402


def median_seconds(action: Callable[[], Any], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def block(size: int) -> dict[str, Any]:
    nodes: dict[str, Any] = {"s0": {"type": "Step", "inputs": {"x": 0, "y": 1}}}
    for index in range(1, size):
        nodes[f"s{index}"] = {"type": "Step", "inputs": {"x": link(f"s{index - 1}"), "y": 1}}
    return {**document(nodes, {"value": link(f"s{size - 1}")}), "params": {"x": "s0.x"}}


def outer_chain(blocks: int, node_type: str) -> dict[str, Any]:
    nodes: dict[str, Any] = {"src": {"type": "Source", "inputs": {"value": 1}}}
    previous = "src"
    for index in range(blocks):
        nodes[f"b{index}"] = {"type": node_type, "inputs": {"x": link(previous)}}
        previous = f"b{index}"
    return document(nodes, {"out": link(previous)})


def flat_chain(blocks: int, size: int) -> dict[str, Any]:
    nodes: dict[str, Any] = {"src": {"type": "Source", "inputs": {"value": 1}}}
    previous = "src"
    for index in range(blocks * size):
        nodes[f"n{index}"] = {"type": "Step", "inputs": {"x": link(previous), "y": 1}}
        previous = f"n{index}"
    return document(nodes, {"out": link(previous)})


def measure(executor: Executor, workflow: dict[str, Any]) -> tuple[float, float, float]:
    """(first compile + plan, cold run, re-run: results and compilation memoised) in seconds."""

    def first_compile() -> None:
        executor.compile_memo.clear()
        plan_run(executor.validate(workflow))

    compile_time = median_seconds(first_compile)
    executor.cache.clear()
    started = time.perf_counter()
    result = executor.run(workflow)
    cold = time.perf_counter() - started
    assert result.status == "success", result.failures
    rerun = median_seconds(lambda: executor.run(workflow))
    return compile_time, cold, rerun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", default="10,100")
    parser.add_argument("--block-size", type=int, default=10)
    parser.add_argument("--depth", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_subworkflows_"))
    (folder / "block.json").write_text(json.dumps(block(args.block_size)))
    wrapped = "block"
    for level in range(args.depth):
        name = f"level{level}"
        inner = {"schema_version": 1, "nodes": {"inner": {"type": f"workflow:{wrapped}", "inputs": {"x": 0}}},
                 "params": {"x": "inner.x"}, "outputs": {"value": link("inner")}}  # fmt: skip
        (folder / f"{name}.json").write_text(json.dumps(inner))
        wrapped = name
    library = WorkflowLibrary([WorkflowFolder(folder, "bench")])
    executor = Executor(Registry([PACK]), cache=ResultCache(max_bytes=None), device="cpu", library=library)
    print(f"block = {args.block_size} trivial nodes; times are medians (ms); ratio = sub-workflows / flat")
    print(f"{'case':<34}{'nodes':>7}{'compile':>10}{'ratio':>7}{'cold':>9}{'ratio':>7}{'re-run':>9}{'ratio':>7}")
    for blocks in (int(item) for item in args.blocks.split(",")):
        flat = measure(executor, flat_chain(blocks, args.block_size))
        nested = measure(executor, outer_chain(blocks, "workflow:block"))
        total = blocks * args.block_size + 1
        for label, times in (("flat chain", flat), (f"{blocks} workflow:block nodes", nested)):
            ratios = [times[index] / flat[index] for index in range(3)]
            print(
                f"{label:<34}{total:>7}{times[0] * 1e3:>10.1f}{ratios[0]:>7.2f}{times[1] * 1e3:>9.1f}"
                f"{ratios[1]:>7.2f}{times[2] * 1e3:>9.1f}{ratios[2]:>7.2f}"
            )
    deep = measure(executor, outer_chain(1, f"workflow:{wrapped}"))
    flat = measure(executor, flat_chain(1, args.block_size))
    print(
        f"1 block nested {args.depth} levels deep: compile {deep[0] * 1e3:.1f} ms "
        f"(flat {flat[0] * 1e3:.1f} ms), cold run {deep[1] * 1e3:.1f} ms (flat {flat[1] * 1e3:.1f} ms)"
    )


if __name__ == "__main__":
    main()

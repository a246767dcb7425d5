"""Server benchmark: queued runs through a real server, watched by many websocket clients.

    python bench/bench_server.py [--runs 100] [--clients 20] [--reconnecting 5] [--steps 5]

Starts `python -m server` on a free loopback port with the toy node pack of the server
tests, connects the websocket clients (subscribed to all runs; some of them drop their
connection mid-way and resume with their last event id), submits the runs over HTTP
(several requests in flight) as fast as the server takes them, and reports:

- throughput (runs/s) and latency from submit to the final event (p50, p95), next to the
  same runs executed in-process by a bare Executor (the baseline, measured in this run);
- per client, events lost or duplicated against the stored event log (target: none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests" / "server"))

from server_helpers import serve, wait_for_run
from server_toy_pack import PACK, chain_workflow

FINAL_EVENTS = {"run_finished", "run_failed", "run_interrupted"}


class Watcher:
    """One websocket client: records every event it receives, by run, with arrival times."""

    def __init__(self, ws_url: str, reconnect_after: int | None) -> None:
        self.ws_url = ws_url
        self.reconnect_after = reconnect_after  # drop the connection once after this many events
        self.received: Counter[tuple[str, int]] = Counter()
        self.final_at: dict[str, float] = {}
        self.last_id: int | None = None
        self.reconnects = 0
        self.ready = asyncio.Event()

    async def watch(self, expected_runs: int) -> None:
        while len(self.final_at) < expected_runs:
            url = self.ws_url if self.last_id is None else f"{self.ws_url}?last_event_id={self.last_id}"
            try:
                async with connect(url, max_size=2**24) as socket:
                    hello = json.loads(await socket.recv())
                    self.last_id = self.last_id if self.last_id is not None else hello["cursor"]
                    self.ready.set()
                    async for message in socket:
                        if isinstance(message, bytes):
                            continue
                        data = json.loads(message)
                        if data["type"] != "event":
                            continue
                        self.received[(data["run_id"], data["seq"])] += 1
                        self.last_id = data["id"]
                        if data["event"]["type"] in FINAL_EVENTS:
                            self.final_at.setdefault(data["run_id"], time.perf_counter())
                            if len(self.final_at) >= expected_runs:
                                return
                        if self.reconnect_after is not None and sum(self.received.values()) >= self.reconnect_after:
                            self.reconnect_after = None
                            self.reconnects += 1
                            break  # leave the socket; resume from last_id
            except ConnectionClosed:
                self.reconnects += 1


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), from /proc (Linux)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def through_server(url: str, ws_url: str, args: argparse.Namespace) -> dict[str, Any]:
    workflow = chain_workflow(steps=args.steps)
    watchers = [Watcher(ws_url, reconnect_after=(40 + 25 * index) if index < args.reconnecting else None)
                for index in range(args.clients)]
    tasks = [asyncio.create_task(watcher.watch(args.runs)) for watcher in watchers]
    await asyncio.wait_for(asyncio.gather(*(watcher.ready.wait() for watcher in watchers)), 60)
    submitted_at: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        slots = asyncio.Semaphore(args.submitters)

        async def submit(seed: int) -> None:
            async with slots:
                before = time.perf_counter()
                response = await http.post("/runs", json={"workflow": workflow, "params": {"seed": seed}})
                response.raise_for_status()
                submitted_at[response.json()["run_id"]] = before

        started = time.perf_counter()
        await asyncio.gather(*(submit(seed) for seed in range(args.runs)))
        submit_s = time.perf_counter() - started
        await asyncio.wait_for(asyncio.gather(*tasks), 600)
        details = [(await http.get(f"/runs/{run_id}")).json() for run_id in submitted_at]
    stored = {detail["run"]["id"]: [event["seq"] for event in detail["events"]] for detail in details}
    statuses = Counter(detail["run"]["status"] for detail in details)
    finished = max(max(watcher.final_at.values()) for watcher in watchers)
    latencies = [watchers[0].final_at[run_id] - submitted_at[run_id] for run_id in submitted_at]
    expected = {(run_id, seq) for run_id, seqs in stored.items() for seq in seqs}
    lost = [len(expected - set(watcher.received)) for watcher in watchers]
    duplicated = [sum(count - 1 for count in watcher.received.values() if count > 1) for watcher in watchers]
    return {
        "statuses": dict(statuses), "submit_s": submit_s, "total_s": finished - started,
        "latencies": latencies, "events": len(expected), "lost": lost, "duplicated": duplicated,
        "reconnects": sum(watcher.reconnects for watcher in watchers),
    }


def in_process_baseline(args: argparse.Namespace) -> tuple[float, float]:
    """The same runs, one after another, on a bare Executor: what the engine alone costs (wall s, CPU s)."""
    from graph_engine import Executor, Registry

    with tempfile.TemporaryDirectory() as output_dir:
        executor = Executor(Registry([PACK]), device="cpu", output_dir=output_dir)
        workflow = chain_workflow(steps=args.steps)
        executor.run(workflow, {"seed": -1})  # warm-up: imports and the cached loader, as the server has had
        started, cpu = time.perf_counter(), cpu_seconds()
        for seed in range(args.runs):
            assert executor.run(workflow, {"seed": seed}).ok
        return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--reconnecting", type=int, default=5, help="clients that drop and resume once")
    parser.add_argument("--steps", type=int, default=5, help="progress steps of each run's sampler stand-in")
    parser.add_argument("--submitters", type=int, default=8, help="HTTP submissions in flight at once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, serve(Path(folder) / "data") as server:
        # One warm-up run so that imports and the loader's cache do not count as latency.
        with httpx.Client(base_url=server.url, timeout=60) as http:
            warm_up = http.post("/runs", json={"workflow": chain_workflow(steps=1), "params": {"seed": -1}})
            wait_for_run(http, warm_up.json()["run_id"], timeout=120)
        server_cpu, client_cpu = cpu_seconds(server.process.pid), cpu_seconds()
        result = asyncio.run(through_server(server.url, server.ws_url, args))
        result["server_cpu_s"] = cpu_seconds(server.process.pid) - server_cpu
        result["client_cpu_s"] = cpu_seconds() - client_cpu
    baseline_s, baseline_cpu_s = in_process_baseline(args)

    latencies = result["latencies"]
    print(f"{args.runs} runs ({args.steps} progress steps each), {args.clients} websocket clients "
          f"({args.reconnecting} reconnecting once), {result['events']} stored events")
    print(f"statuses: {result['statuses']}")
    print(f"submit {args.runs} runs over HTTP ({args.submitters} at a time): {result['submit_s']:.2f} s "
          f"({args.runs / result['submit_s']:.0f} submits/s)")
    print(f"server, submit to last final event: {result['total_s']:.2f} s "
          f"({args.runs / result['total_s']:.1f} runs/s)")
    print(f"in-process executor (baseline):     {baseline_s:.2f} s ({args.runs / baseline_s:.1f} runs/s)")
    print(f"server / baseline time:             {result['total_s'] / baseline_s:.2f}x")
    print(f"latency submit -> final event:      p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"CPU time: server {result['server_cpu_s']:.2f} s, baseline {baseline_cpu_s:.2f} s "
          f"(server / baseline {result['server_cpu_s'] / baseline_cpu_s:.2f}x), "
          f"the {args.clients} clients {result['client_cpu_s']:.2f} s")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: wall times depend on it)")
    print(f"reconnects: {result['reconnects']}")
    print(f"events lost per client:       {result['lost']}  (total {sum(result['lost'])})")
    print(f"events duplicated per client: {result['duplicated']}  (total {sum(result['duplicated'])})")
    return 0 if sum(result["lost"]) == 0 and sum(result["duplicated"]) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

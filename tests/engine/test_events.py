"""Events: order, sequence numbers, JSON round trip, previews."""

import base64
import io
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

from PIL import Image

from engine.conftest import link, workflow
from engine.toy_nodes import PACK
from graph_engine import Context, Executor, NodePack, Out, Registry, node, parse_event
from graph_engine.events import EVENT_SCHEMA_VERSION, NodeProgress, event_json_schema


def test_event_stream_of_a_run(executor: Executor) -> None:
    document = workflow(
        {
            "a": ("Const", {"value": 1}),
            "s": ("Sleep", {"x": link("a", "value"), "seconds": 0.0, "steps": 3}),
            "boom": ("Fail", {"x": 1}),
            "after": ("Add", {"x": link("boom", "value")}),
        },
        {"s": link("s", "value"), "after": link("after", "sum")},
    )
    events: list[Any] = []
    executor.run(document, on_event=events.append, run_id="r1")
    assert [(event.type, getattr(event, "node_id", None)) for event in events] == [
        ("run_started", None),
        ("node_started", "a"),
        ("node_finished", "a"),
        ("node_started", "boom"),
        ("node_failed", "boom"),
        ("node_started", "s"),
        ("node_progress", "s"),
        ("node_progress", "s"),
        ("node_progress", "s"),
        ("node_finished", "s"),
        ("node_skipped", "after"),
        ("run_failed", None),
    ]
    assert [event.seq for event in events] == list(range(len(events)))
    assert all(event.run_id == "r1" and event.schema_version == EVENT_SCHEMA_VERSION for event in events)
    assert all(earlier.time <= later.time for earlier, later in pairwise(events))
    assert [(event.value, event.total) for event in events if event.type == "node_progress"] == [(1, 3), (2, 3), (3, 3)]
    assert events[2].outputs == {"value": "1"} and events[0].nodes == ["a", "boom", "s", "after"]

    cached: list[Any] = []
    executor.run(document, outputs=["s"], on_event=cached.append)
    assert [event.type for event in cached] == ["run_started", "node_cached", "node_cached", "run_finished"]
    assert cached[-1].ran == 0 and cached[-1].cached == 2


def test_events_round_trip_through_json(executor: Executor) -> None:
    events: list[Any] = []
    executor.run(
        workflow({"boom": ("Fail", {"x": 1}), "save": ("SaveText", {"text": "x"})}, {}), on_event=events.append
    )
    for event in events:
        text = event.model_dump_json()
        assert parse_event(text) == event
        assert json.loads(text)["type"] == event.type
    assert {"run_started", "node_failed", "run_failed"} <= set(event_json_schema()["discriminator"]["mapping"])


def test_previews_are_objects_in_process_and_base64_png_in_json(tmp_path: Path) -> None:
    image = Image.new("RGB", (4, 4), "red")

    @node
    def Preview(ctx: Context, x: int) -> Out[int, "v"]:
        ctx.progress(1, 2, preview=image)
        ctx.progress(2, 2, preview=b"not an image")
        return x

    executor = Executor(Registry([PACK, NodePack("p", nodes=[Preview], builtin=True)]), output_dir=tmp_path)
    events: list[Any] = []
    executor.run(workflow({"p": ("Preview", {"x": 1})}, {"v": link("p", "v")}), on_event=events.append)
    progress = [event for event in events if isinstance(event, NodeProgress)]
    assert progress[0].preview is image
    encoded = json.loads(progress[0].model_dump_json())["preview"]
    assert encoded["format"] == "png"
    assert Image.open(io.BytesIO(base64.b64decode(encoded["data"]))).size == (4, 4)
    assert json.loads(progress[1].model_dump_json())["preview"] is None


def test_a_failing_listener_does_not_break_the_run(executor: Executor) -> None:
    def broken(event: Any) -> None:
        raise ValueError("listener bug")

    seen: list[Any] = []
    result = executor.run(
        workflow({"a": ("Const", {"value": 1})}, {"v": link("a", "value")}), on_event=[broken, seen.append]
    )
    assert result.ok and seen[-1].type == "run_finished"

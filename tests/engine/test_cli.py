"""The graph-engine command, end to end through subprocesses."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.conftest import link, workflow
from graph_engine import parse_event
from graph_engine.cli import main

TESTS_DIR = Path(__file__).parents[1]
SCHEMA_FILE = TESTS_DIR.parent / "graph_engine" / "schema" / "workflow.schema.json"
# Only the toy pack: installed packs (the diffusion pack) would import torch in every process.
PACK = ["--pack", "engine.toy_nodes:PACK", "--no-installed-packs"]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graph_engine", *args],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def files(tmp_path: Path) -> Path:
    documents = {
        "sum.json": workflow(
            {
                "a": ("Const", {"value": 1}),
                "b": ("Add", {"x": link("a", "value"), "y": 2}),
                "save": ("SaveText", {"text": "saved", "prefix": "note"}),
            },
            {"total": link("b", "sum")},
            params={"y": "b.y"},
        ),
        "fail.json": workflow(
            {"f": ("Fail", {"x": 1}), "ok": ("Const", {"value": 3})},
            {"f": link("f", "value"), "ok": link("ok", "value")},
        ),
        "bad.json": workflow(
            {"a": ("Cnst", {"value": 1}), "b": ("Add", {"x": link("zz", "value")})}, {"o": link("b", "sum")}
        ),
        "slow.json": workflow({"s": ("Sleep", {"x": 1, "seconds": 60.0, "steps": 6000})}, {"s": link("s", "value")}),
    }
    for name, document in documents.items():
        (tmp_path / name).write_text(json.dumps(document))
    return tmp_path


def test_run_with_params_events_and_sweep(files: Path) -> None:
    done = cli(
        "run",
        "sum.json",
        *PACK,
        "--set",
        "a.value=10",
        "--sweep",
        "y=1,2,3",
        "--events",
        "events.jsonl",
        "--output-dir",
        "out",
        cwd=files,
    )
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("total:")] == [
        "total: 11",
        "total: 12",
        "total: 13",
    ]
    assert sorted(path.name for path in (files / "out").iterdir()) == [
        "note_00001.txt",
        "note_00002.txt",
        "note_00003.txt",
    ]
    events = [parse_event(line) for line in (files / "events.jsonl").read_text().splitlines()]
    runs = [event.run_id for event in events if event.type == "run_started"]
    assert len(runs) == 3 and events[-1].type == "run_finished"
    cached_in_later_runs = {(event.run_id, event.node_id) for event in events if event.type == "node_cached"}
    assert cached_in_later_runs == {(runs[1], "a"), (runs[2], "a")}  # the sweep reuses unchanged nodes
    assert "b (Add) running: inputs_changed" in done.stderr  # plain progress lines off a terminal


def test_node_failure_exits_1(files: Path) -> None:
    failed = cli("run", "fail.json", *PACK, cwd=files)
    assert failed.returncode == 1
    assert "ok: 3" in failed.stdout and "node f (Fail) failed: RuntimeError: boom" in failed.stdout
    assert "Traceback" in failed.stderr


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The same entry point without a subprocess, for the cheap argument and validation cases."""
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse errors
        code = int(exit.code)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_invalid_workflows_and_arguments_exit_2(
    files: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files)
    code, _, err = in_process(capsys, "validate", "bad.json", *PACK, "--set", "nope=1")
    assert code == 2
    assert "did you mean 'Const'" in err and "[unknown_node]" in err and "[unknown_param]" in err

    code, _, err = in_process(capsys, "run", "sum.json", *PACK, "--sweep", "y=1,x")
    assert code == 2 and "expected an integer, got 'x'" in err
    assert not (files / "output").exists()  # nothing ran: every variant is checked first

    assert in_process(capsys, "run", "sum.json", "--set", "no-equals-sign")[0] == 2
    code, _, err = in_process(capsys, "run", "missing.json")  # fails before loading any pack
    assert code == 2 and "cannot read missing.json" in err
    code, out, _ = in_process(capsys, "validate", "sum.json", *PACK, "--set", "y=4")
    assert code == 0 and "ok: 3 nodes" in out


def test_interrupt_exits_130(files: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "graph_engine", "run", "slow.json", *PACK],
        cwd=files,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in process.stderr:
            if "s (Sleep) running" in line:
                break
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted in s" in stderr


def test_nodes_and_schema(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = in_process(capsys, "nodes", *PACK, "--json")
    assert code == 0 and "Add" in [entry["type"] for entry in json.loads(out)["nodes"]]
    code, out, _ = in_process(capsys, "nodes", *PACK)
    assert "  Add(x: INT, y: INT) -> sum: INT" in out
    script = Path(sys.executable).with_name("graph-engine")  # the installed console script
    schema = subprocess.run([str(script), "schema"], capture_output=True, text=True, timeout=120, env=environment())
    assert schema.returncode == 0 and schema.stdout == SCHEMA_FILE.read_text()


def test_threads_option_is_checked_and_applied(files: Path) -> None:
    rejected = cli("run", "sum.json", *PACK, "--threads", "0", cwd=files)
    assert rejected.returncode == 2 and "expected a whole number >= 1" in rejected.stderr
    done = cli("run", "sum.json", *PACK, "--threads", "1", "--output-dir", "out", cwd=files)
    assert done.returncode == 0, done.stderr

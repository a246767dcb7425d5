"""Library workflows used from Python (as functions) and from the command line."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.conftest import link, workflow
from engine.test_cli import PACK, environment
from engine.toy_nodes import PACK as TOY_PACK
from graph_engine import (
    Executor,
    Registry,
    WorkflowFailed,
    WorkflowFolder,
    WorkflowFunctions,
    WorkflowLibrary,
    WorkflowValidationError,
)

DIVIDE = workflow(
    {"a": ("Const", {"value": 17}), "d": ("DivMod", {"a": link("a", "value"), "b": 5})},
    {"quotient": link("d", "quotient"), "remainder": link("d", "remainder")},
    params={"a": {"targets": ["a.value"], "description": "the dividend"}, "b": "d.b"},
    name="divide",
    description="Integer division with remainder.",
)
SHOUT = workflow(
    {"c": ("Concat", {"a": "hi", "mode": "upper"})},
    {"text": link("c", "text")},
    params={"text": "c.a", "mode": "c.mode"},
    description="Upper-case a text.",
)
FAILING = workflow({"f": ("Fail", {"x": 1, "message": "no luck"})}, {"v": link("f", "value")})


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    for name, document in {"divide": DIVIDE, "shout": SHOUT, "failing": FAILING}.items():
        (folder / f"{name}.json").write_text(json.dumps(document))
    return folder


@pytest.fixture
def flows(library_dir: Path, tmp_path: Path) -> WorkflowFunctions:
    library = WorkflowLibrary([WorkflowFolder(library_dir, "user")])
    return Executor(Registry([TOY_PACK]), device="cpu", output_dir=tmp_path / "out", library=library).workflows


def test_a_library_workflow_is_a_function_of_its_params(flows: WorkflowFunctions) -> None:
    assert flows.shout(text="quiet") == "QUIET"  # one output: the value itself
    assert flows["shout"](text="calm", mode="plain") == "calm"
    assert flows.divide(a=23) == {"quotient": 4, "remainder": 3}  # several: a dict by name
    assert flows.divide() == {"quotient": 3, "remainder": 2}  # defaults: the workflow's own values
    assert sorted(flows) == ["divide", "failing", "shout"] and "divide" in dir(flows)


def test_signature_and_help_describe_it(flows: WorkflowFunctions) -> None:
    signature = inspect.signature(flows.divide)
    assert [(p.name, p.kind, p.default) for p in signature.parameters.values()] == [
        ("a", inspect.Parameter.KEYWORD_ONLY, 17), ("b", inspect.Parameter.KEYWORD_ONLY, 5),
    ]  # fmt: skip
    doc = flows.divide.__doc__ or ""
    assert "Integer division" in doc and "a (INT, default 17): the dividend" in doc and "remainder (INT)" in doc


def test_bad_arguments_failures_and_unknown_names_raise(flows: WorkflowFunctions) -> None:
    with pytest.raises(WorkflowValidationError, match="not one of"):
        flows.shout(text="x", mode="whisper")
    with pytest.raises(WorkflowValidationError, match="neither a param"):
        flows.shout(txt="x")
    with pytest.raises(WorkflowFailed, match="no luck") as failed:
        flows.failing()
    assert failed.value.result.failures["f"].error_type == "RuntimeError"
    with pytest.raises(AttributeError, match="did you mean 'divide'"):
        flows.divid  # noqa: B018
    assert flows.divide.run(a=9).status == "success"


def test_an_executor_without_a_library_says_how_to_get_one() -> None:
    with pytest.raises(ValueError, match="library="):
        Executor(Registry([TOY_PACK])).workflows  # noqa: B018


# ---- the command line ---------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graph_engine", *args, *PACK],
        cwd=cwd, env=environment(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_cli_lists_runs_validates_and_pins_library_workflows(library_dir: Path, tmp_path: Path) -> None:
    flows = ["--workflows", str(library_dir)]
    listed = cli("workflows", "--json", *flows, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    by_name = {item["name"]: item for item in json.loads(listed.stdout)}
    assert sorted(by_name) == ["divide", "failing", "shout"]
    assert [param["name"] for param in by_name["divide"]["params"]] == ["a", "b"]
    assert by_name["divide"]["source"] == "user" and len(by_name["divide"]["hash"]) == 16
    text = cli("workflows", *flows, cwd=tmp_path).stdout
    assert "divide  [user]" in text and "params: a: INT, b: INT" in text

    ran = cli("run", "divide", "--set", "a=40", *flows, cwd=tmp_path)
    assert ran.returncode == 0 and "quotient: 8" in ran.stdout, ran.stderr

    catalogue = json.loads(cli("nodes", "--json", *flows, cwd=tmp_path).stdout)
    assert "workflow:divide" in {node["type"] for node in catalogue["nodes"]}

    user = tmp_path / "user.json"
    user.write_text(json.dumps(workflow({"d": ("workflow:divide", {"a": 9})}, {"r": link("d", "remainder")})))
    pinned = cli("pin", str(user), *flows, cwd=tmp_path)
    assert pinned.returncode == 0 and "pinned d (workflow:divide): unpinned ->" in pinned.stdout
    assert json.loads(user.read_text())["nodes"]["d"]["pin"] == by_name["divide"]["hash"]
    (library_dir / "divide.json").write_text(json.dumps({**DIVIDE, "outputs": {"q": link("d", "quotient")}}))
    invalid = cli("validate", str(user), *flows, cwd=tmp_path)
    assert invalid.returncode == 2 and "workflow_changed" in invalid.stderr

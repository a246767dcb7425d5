"""Caching: keys from inputs not ids, fingerprints, uncacheable nodes, byte budget, explain."""

import os
from pathlib import Path

from engine.conftest import link, workflow
from graph_engine import Executor, NodePack, NodeStatus, Out, Reason, Registry, ResultCache, node


def chain_with_branch(y: int = 1) -> dict:
    return workflow(
        {
            "a": ("Const", {"value": 1}),
            "b": ("Add", {"x": link("a", "value"), "y": y}),
            "c": ("Add", {"x": link("b", "sum"), "y": 1}),
            "d": ("Add", {"x": link("c", "sum"), "y": 1}),
            "e": ("Const", {"value": 10}),
            "f": ("Add", {"x": link("e", "value"), "y": 1}),
        },
        {"d": link("d", "sum"), "f": link("f", "sum")},
    )


def test_changing_one_constant_reruns_exactly_that_node_and_its_descendants(executor: Executor) -> None:
    first = executor.run(chain_with_branch(y=1))
    assert set(first.ran) == set("abcdef")
    second = executor.run(chain_with_branch(y=2))
    assert set(second.ran) == {"b", "c", "d"}
    assert second.outputs == {"d": 5, "f": 11}
    assert second.explanations["b"].reason is Reason.INPUTS_CHANGED
    assert "y: 1 -> 2" in second.explanations["b"].message
    assert second.explanations["c"].reason is Reason.UPSTREAM_CHANGED
    assert second.explanations["a"].status is NodeStatus.CACHED
    assert second.explanations["e"].status is NodeStatus.CACHED  # in cache, not needed: f is cached
    third = executor.run(chain_with_branch(y=2))
    assert third.ran == [] and third.outputs == second.outputs


def test_identical_subgraphs_share_results_across_workflows(executor: Executor) -> None:
    executor.run(
        workflow(
            {"a": ("Const", {"value": 5}), "b": ("Add", {"x": link("a", "value"), "y": 1})}, {"o": link("b", "sum")}
        )
    )
    other = workflow(
        {
            "five": ("Const", {"value": 5}),
            "plus_one": ("Add", {"y": 1, "x": link("five", "value")}),
            "plus_two": ("Add", {"x": link("plus_one", "sum"), "y": 2}),
        },
        {"o": link("plus_two", "sum")},
        editor={"positions": {"five": [1, 2]}},
    )
    result = executor.run(other)
    assert result.ran == ["plus_two"] and result.outputs == {"o": 8}


def test_defaults_and_explicit_values_share_a_key(executor: Executor) -> None:
    executor.run(workflow({"s": ("Scale", {"x": 3})}, {"o": link("s", "value")}))
    result = executor.run(workflow({"s": ("Scale", {"x": 3.0, "factor": 2.0})}, {"o": link("s", "value")}))
    assert result.ran == [] and result.outputs == {"o": 6.0}


def test_node_version_is_part_of_the_key(executor: Executor, tmp_path: Path) -> None:
    @node(name="Const", version=2)
    def ConstV2(value: int) -> Out[int, "value"]:
        return value * 100

    document = workflow({"a": ("Const", {"value": 1})}, {"o": link("a", "value")})
    executor.run(document)
    upgraded = Executor(
        Registry([NodePack("v2", nodes=[ConstV2], builtin=True)]), cache=executor.cache, output_dir=tmp_path
    )
    result = upgraded.run(document)
    assert result.ran == ["a"] and result.outputs == {"o": 100}


def test_file_reading_node_follows_content_not_mtime(executor: Executor, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hello")
    document = workflow(
        {"r": ("ReadText", {"path": str(source)}), "c": ("Concat", {"a": link("r", "text"), "b": "!"})},
        {"o": link("c", "text")},
    )
    assert executor.run(document).outputs == {"o": "hello!"}

    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = executor.run(document)
    assert touched.ran == [] and executor.files.hashed == 2  # re-hashed, same content: cached

    again = executor.run(document)
    assert again.ran == [] and executor.files.hashed == 2  # unchanged stat: not even re-read

    source.write_text("world")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
    changed = executor.run(document)
    assert set(changed.ran) == {"r", "c"}
    assert changed.outputs == {"o": "world!"}
    assert "fingerprint" in changed.explanations["r"].message


def test_fingerprint_failure_fails_the_node(executor: Executor, tmp_path: Path) -> None:
    document = workflow(
        {"r": ("ReadText", {"path": str(tmp_path / "missing.txt")}), "k": ("Const", {"value": 1})},
        {"o": link("r", "text"), "k": link("k", "value")},
    )
    result = executor.run(document)
    assert result.status == "failed" and result.outputs == {"k": 1}
    assert result.failures["r"].error_type == "FileNotFoundError"
    assert result.failures["r"].message.startswith("fingerprint failed")


def test_uncacheable_nodes_always_run_and_so_do_their_dependents(executor: Executor) -> None:
    document = workflow({"t": ("Clock", {}), "s": ("Add", {"x": link("t", "ns"), "y": 0})}, {"o": link("s", "sum")})
    first = executor.run(document)
    second = executor.run(document)
    assert set(first.ran) == set(second.ran) == {"t", "s"}
    assert first.outputs["o"] != second.outputs["o"]
    assert second.explanations["t"].reason is Reason.UNCACHEABLE
    assert second.explanations["s"].reason is Reason.UPSTREAM_CHANGED


def text_workflow(*letters: str) -> dict:
    return workflow(
        {letter: ("Concat", {"a": letter * 1000}) for letter in letters},
        {letter: link(letter, "text") for letter in letters},
    )


def test_byte_budget_evicts_least_recently_used(registry: Registry, tmp_path: Path) -> None:
    cache = ResultCache(max_bytes=2500)
    executor = Executor(registry, cache=cache, output_dir=tmp_path)
    executor.run(text_workflow("x", "y"))
    executor.run(text_workflow("z"))  # 3000 bytes > 2500: the oldest (x) goes
    stats = cache.stats()
    assert (stats.entries, stats.evictions) == (2, 1) and stats.bytes <= 2500
    assert [entry.node_type for entry in cache.entries()] == ["Concat", "Concat"]
    result = executor.run(text_workflow("x", "y", "z"))
    assert result.ran == ["x"] and result.explanations["x"].reason is Reason.EVICTED


def test_values_larger_than_the_budget_are_not_cached(registry: Registry, tmp_path: Path) -> None:
    cache = ResultCache(max_bytes=500)
    executor = Executor(registry, cache=cache, output_dir=tmp_path)
    executor.run(text_workflow("x"))
    assert cache.stats().entries == 0 and cache.stats().evictions == 0


def test_evicted_intermediate_under_a_cached_result_is_not_recomputed(executor: Executor) -> None:
    first = executor.run(chain_with_branch())
    executor.cache.discard(first.explanations["c"].key)
    second = executor.run(chain_with_branch())
    assert second.ran == []
    assert second.explanations["c"].status is NodeStatus.SKIPPED
    assert second.explanations["c"].reason is Reason.NOT_NEEDED


def test_cache_inspect_clear_disable(executor: Executor) -> None:
    cache = executor.cache
    executor.run(chain_with_branch())
    stats = cache.stats()
    assert stats.entries == 6 and stats.misses == 6 and stats.hits == 0 and stats.bytes > 0
    executor.run(chain_with_branch())
    assert cache.stats().hits == 2  # the two outputs; nothing upstream is even looked at

    cache.clear()
    assert cache.stats().entries == 0 and set(executor.run(chain_with_branch()).ran) == set("abcdef")

    cache.enabled = False
    disabled = executor.run(chain_with_branch())
    assert set(disabled.ran) == set("abcdef")
    assert disabled.explanations["a"].reason is Reason.CACHE_DISABLED
    cache.enabled = True
    assert executor.run(chain_with_branch()).ran == []

    cache.max_bytes = 0
    assert cache.stats().entries == 0

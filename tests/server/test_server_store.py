"""SQLite queue, history and event persistence."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from server.schemas import RunStatus
from server.store import Store


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "server.sqlite3")


def _queue(store: Store, priority: int = 0, client_id: str | None = None) -> str:
    run, _ = store.add_run({"nodes": {}}, {}, priority=priority, client_id=client_id, workflow_name=None)
    return run.id


def _queued_ids(store: Store) -> list[str]:
    return [run.id for run in store.runs_with_status(RunStatus.QUEUED)]


def test_queue_orders_by_priority_then_submission(store: Store) -> None:
    a, b, c = _queue(store), _queue(store, priority=5), _queue(store)
    assert _queued_ids(store) == [b, a, c]
    _, position = store.add_run({}, {}, priority=1, client_id=None, workflow_name=None)
    assert position == 1


def test_move_and_priority(store: Store) -> None:
    a, b, c, d = (_queue(store) for _ in range(4))
    assert store.move(d, 0)
    assert _queued_ids(store) == [d, a, b, c]
    assert store.move(a, 2)
    assert _queued_ids(store) == [d, b, a, c]
    assert store.move(d, 99)
    assert _queued_ids(store) == [b, a, c, d]
    assert store.set_priority(c, 3)
    assert _queued_ids(store) == [c, b, a, d]
    assert store.move(d, 0)  # takes the priority of the run it lands in front of
    assert _queued_ids(store) == [d, c, b, a]
    assert not store.move("0" * 32, 0)


def test_claim_respects_pause_and_order(store: Store) -> None:
    a, b = _queue(store), _queue(store, priority=1)
    store.set_flag("paused", True)
    assert store.claim_next("cpu") is None
    store.set_flag("paused", False)
    claimed = store.claim_next("cpu")
    assert claimed is not None and claimed.id == b and claimed.status == RunStatus.RUNNING
    assert not store.set_priority(b, 9), "a running run is no longer in the queue"
    assert store.finish_run(b, RunStatus.SUCCEEDED, outputs={"image": []})
    assert not store.finish_run(b, RunStatus.FAILED, only_if=RunStatus.RUNNING)
    assert store.get_run(b).status == RunStatus.SUCCEEDED  # type: ignore[union-attr]
    assert store.claim_next("cpu").id == a  # type: ignore[union-attr]
    assert store.claim_next("cpu") is None


def test_reopening_fails_runs_left_running(tmp_path: Path) -> None:
    path = tmp_path / "server.sqlite3"
    first = Store(path)
    running, queued = _queue(first), _queue(first)
    first.claim_next("cpu")
    first.append_event(running, 0, None, '{"type": "run_started"}')
    first.close()

    second = Store(path)
    failed = second.fail_interrupted_runs("the server stopped")
    assert [run.id for run in failed] == [running]
    record = second.get_run(running)
    assert record is not None and record.status == RunStatus.FAILED and record.error == "the server stopped"
    assert _queued_ids(second) == [queued]
    assert [event.event for event in second.events_of_run(running)] == [{"type": "run_started"}]


def test_events_resume_by_cursor_and_client(store: Store) -> None:
    mine, theirs = _queue(store, client_id="me"), _queue(store, client_id="you")
    ids = [store.append_event(run, seq, client, f'{{"n": {seq}}}')
           for seq in range(3) for run, client in ((mine, "me"), (theirs, "you"))]
    assert ids == sorted(ids)
    assert [event.id for event in store.events_after(ids[1], None, 100)] == ids[2:]
    assert [(event.run_id, event.seq) for event in store.events_after(0, "me", 100)] == [(mine, s) for s in range(3)]
    assert store.cursor_of(theirs, 1) == ids[3]
    assert store.last_seq(mine) == 2 and store.last_seq("x") == -1
    with pytest.raises(sqlite3.IntegrityError):
        store.append_event(mine, 2, "me", "{}")  # (run, seq) is unique: no duplicated events


def test_history_pages_and_delete(store: Store) -> None:
    runs = [_queue(store, client_id="me" if index % 2 else None) for index in range(5)]
    for run_id in runs:
        store.claim_next("cpu")
        store.finish_run(run_id, RunStatus.SUCCEEDED)
    total, page = store.history(offset=1, limit=2)
    assert total == 5 and len(page) == 2
    assert store.history(0, 10, client_id="me")[0] == 2
    queued = _queue(store)
    assert not store.delete_run(queued), "queued runs are cancelled, not deleted"
    store.append_event(runs[0], 0, None, "{}")
    assert store.delete_run(runs[0]) and store.get_run(runs[0]) is None
    assert store.events_of_run(runs[0]) == []

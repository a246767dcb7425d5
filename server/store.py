"""SQLite persistence of the queue, run history, events and the saved-workflow index.

One connection in WAL mode, shared by the event loop and the worker threads
under a lock: every call is a short transaction, so contention is negligible
next to running a node.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.schemas import Run, RunStatus, SavedWorkflowInfo, StoredEvent

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    position REAL NOT NULL,
    client_id TEXT,
    workflow_name TEXT,
    workflow TEXT NOT NULL,
    params TEXT NOT NULL,
    device TEXT,
    submitted_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    error TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    files TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_queue ON runs (status, priority DESC, position);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    client_id TEXT,
    body TEXT NOT NULL,
    UNIQUE (run_id, seq)
);
CREATE TABLE IF NOT EXISTS saved_workflows (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    updated_at REAL NOT NULL,
    sha256 TEXT NOT NULL
);
"""

_RUN_COLUMNS = (
    "id, number, status, priority, client_id, workflow_name, workflow, params, device, "
    "submitted_at, started_at, finished_at, error, outputs, files"
)
_QUEUE_ORDER = "ORDER BY priority DESC, position ASC"


@dataclass(frozen=True)
class EventRow:
    """A stored event as the websocket sends it: ids and the event's JSON text, never parsed."""

    id: int
    run_id: str
    seq: int
    body: str


def _run_from_row(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"], number=row["number"], status=RunStatus(row["status"]), priority=row["priority"],
        client_id=row["client_id"], workflow_name=row["workflow_name"],
        workflow=json.loads(row["workflow"]), params=json.loads(row["params"]), device=row["device"],
        submitted_at=row["submitted_at"], started_at=row["started_at"], finished_at=row["finished_at"],
        error=row["error"], outputs=json.loads(row["outputs"]), files=json.loads(row["files"]),
    )


class Store:
    """Everything the server must not forget, in `<data_dir>/server.sqlite3`."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)  # executescript commits on its own
        with self._transaction() as db:
            found = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(found["value"]) != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{path} has store schema version {found['value']}, this server reads {SCHEMA_VERSION}"
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- flags ---------------------------------------------------------------

    def get_flag(self, key: str) -> bool:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row is not None and row["value"] == "1"

    def set_flag(self, key: str, value: bool) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, "1" if value else "0"))

    # -- queue ---------------------------------------------------------------

    def add_run(
        self, workflow: dict[str, Any], params: dict[str, Any], *, priority: int,
        client_id: str | None, workflow_name: str | None,
    ) -> tuple[Run, int]:
        """Queue a run; returns it and its 0-based place in the queue."""
        run_id = uuid.uuid4().hex
        with self._transaction() as db:
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM runs").fetchone()[0]
            db.execute(
                "INSERT INTO runs (id, number, status, priority, position, client_id, workflow_name, "
                "workflow, params, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, number, RunStatus.QUEUED, priority, float(number), client_id, workflow_name,
                 json.dumps(workflow), json.dumps(params), time.time()),
            )
            ahead = db.execute(
                "SELECT COUNT(*) FROM runs WHERE status=? AND (priority>? OR (priority=? AND position<?))",
                (RunStatus.QUEUED, priority, priority, float(number)),
            ).fetchone()[0]
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        return _run_from_row(row), ahead

    def get_run(self, run_id: str) -> Run | None:
        with self._transaction() as db:
            row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
        return None if row is None else _run_from_row(row)

    def runs_with_status(self, status: RunStatus) -> list[Run]:
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE status=? {_QUEUE_ORDER}", (status,)
            ).fetchall()
        return [_run_from_row(row) for row in rows]

    def queue_summary(self) -> tuple[list[str], int]:
        """Ids of the running runs and the number of queued ones (cheap: no documents are read)."""
        with self._transaction() as db:
            running = [row["id"] for row in db.execute(
                "SELECT id FROM runs WHERE status=? ORDER BY started_at", (RunStatus.RUNNING,))]
            queued = db.execute("SELECT COUNT(*) FROM runs WHERE status=?", (RunStatus.QUEUED,)).fetchone()[0]
        return running, queued

    def claim_next(self, device: str) -> Run | None:
        """Mark the first queued run as running on `device` and return it (None if empty or paused)."""
        with self._transaction() as db:
            paused = db.execute("SELECT value FROM meta WHERE key='paused'").fetchone()
            if paused is not None and paused["value"] == "1":
                return None
            row = db.execute(
                f"SELECT id FROM runs WHERE status=? {_QUEUE_ORDER} LIMIT 1", (RunStatus.QUEUED,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE runs SET status=?, device=?, started_at=? WHERE id=?",
                (RunStatus.RUNNING, device, time.time(), row["id"]),
            )
            claimed = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id=?", (row["id"],)).fetchone()
        return _run_from_row(claimed)

    def set_priority(self, run_id: str, priority: int) -> bool:
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE runs SET priority=? WHERE id=? AND status=?", (priority, run_id, RunStatus.QUEUED)
            ).rowcount
        return changed == 1

    def move(self, run_id: str, index: int) -> bool:
        """Move a queued run to `index` of the queue; it takes the priority of the run it lands next to."""
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT id, priority, position FROM runs WHERE status=? {_QUEUE_ORDER}", (RunStatus.QUEUED,)
            ).fetchall()
            others = [row for row in rows if row["id"] != run_id]
            if len(others) == len(rows):
                return False
            if not others:
                return True
            index = min(index, len(others))
            if index == len(others):
                neighbour = others[-1]
                priority, position = neighbour["priority"], neighbour["position"] + 1.0
            else:
                neighbour = others[index]
                before = others[index - 1] if index > 0 else None
                priority = neighbour["priority"]
                if before is not None and before["priority"] == priority:
                    position = (before["position"] + neighbour["position"]) / 2.0
                else:
                    position = neighbour["position"] - 1.0
            db.execute("UPDATE runs SET priority=?, position=? WHERE id=?", (priority, position, run_id))
        return True

    def finish_run(
        self, run_id: str, status: RunStatus, *, error: str | None = None,
        outputs: dict[str, Any] | None = None, files: list[str] | None = None, only_if: RunStatus | None = None,
    ) -> bool:
        """Record how a run ended. With `only_if`, only when it is still in that status."""
        assert status.is_final, status
        query = "UPDATE runs SET status=?, finished_at=?, error=?, outputs=?, files=? WHERE id=?"
        args: tuple[Any, ...] = (status, time.time(), error, json.dumps(outputs or {}), json.dumps(files or []), run_id)
        if only_if is not None:
            query += " AND status=?"
            args += (only_if,)
        with self._transaction() as db:
            return db.execute(query, args).rowcount == 1

    def fail_interrupted_runs(self, reason: str) -> list[Run]:
        """Mark runs left 'running' by a previous process as failed with `reason`; return them."""
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE status=?", (RunStatus.RUNNING,)
            ).fetchall()
            db.execute(
                "UPDATE runs SET status=?, finished_at=?, error=? WHERE status=?",
                (RunStatus.FAILED, time.time(), reason, RunStatus.RUNNING),
            )
        return [_run_from_row(row) for row in rows]

    # -- history -------------------------------------------------------------

    def history(self, offset: int, limit: int, client_id: str | None = None) -> tuple[int, list[Run]]:
        """Finished runs, newest first."""
        final = [status.value for status in RunStatus if status.is_final]
        where = f"status IN ({', '.join('?' * len(final))})"
        args: list[Any] = list(final)
        if client_id is not None:
            where += " AND client_id=?"
            args.append(client_id)
        with self._transaction() as db:
            total = db.execute(f"SELECT COUNT(*) FROM runs WHERE {where}", args).fetchone()[0]
            rows = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where} ORDER BY finished_at DESC, number DESC "
                "LIMIT ? OFFSET ?", [*args, limit, offset],
            ).fetchall()
        return total, [_run_from_row(row) for row in rows]

    def delete_run(self, run_id: str) -> bool:
        """Forget a finished run and its events (its output files stay on disk)."""
        final = [status.value for status in RunStatus if status.is_final]
        with self._transaction() as db:
            deleted = db.execute(
                f"DELETE FROM runs WHERE id=? AND status IN ({', '.join('?' * len(final))})", [run_id, *final]
            ).rowcount
            if deleted:
                db.execute("DELETE FROM events WHERE run_id=?", (run_id,))
        return deleted == 1

    # -- events --------------------------------------------------------------

    def append_event(self, run_id: str, seq: int, client_id: str | None, body: str) -> int:
        """Persist one event (`body`: its JSON text); returns its server-wide cursor id (strictly increasing)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO events (run_id, seq, client_id, body) VALUES (?, ?, ?, ?)",
                (run_id, seq, client_id, body),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def last_seq(self, run_id: str) -> int:
        with self._transaction() as db:
            row = db.execute("SELECT MAX(seq) FROM events WHERE run_id=?", (run_id,)).fetchone()
        return -1 if row[0] is None else int(row[0])

    def events_of_run(self, run_id: str) -> list[StoredEvent]:
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id, run_id, seq, body FROM events WHERE run_id=? ORDER BY id", (run_id,)
            ).fetchall()
        return [StoredEvent(id=row["id"], run_id=row["run_id"], seq=row["seq"], event=json.loads(row["body"]))
                for row in rows]

    def events_after(self, cursor: int, client_id: str | None, limit: int) -> list[EventRow]:
        """Events with id > cursor, oldest first; only those of `client_id`'s runs when it is given."""
        query = "SELECT id, run_id, seq, body FROM events WHERE id>?"
        args: list[Any] = [cursor]
        if client_id is not None:
            query += " AND client_id=?"
            args.append(client_id)
        with self._transaction() as db:
            rows = db.execute(query + " ORDER BY id LIMIT ?", [*args, limit]).fetchall()
        return [EventRow(row["id"], row["run_id"], row["seq"], row["body"]) for row in rows]

    def cursor_of(self, run_id: str, seq: int) -> int | None:
        """The server-wide id of event `seq` of `run_id` (resuming from a run id + seq)."""
        with self._transaction() as db:
            row = db.execute("SELECT id FROM events WHERE run_id=? AND seq=?", (run_id, seq)).fetchone()
        return None if row is None else int(row["id"])

    def last_cursor(self) -> int:
        with self._transaction() as db:
            row = db.execute("SELECT MAX(id) FROM events").fetchone()
        return 0 if row[0] is None else int(row[0])

    # -- saved-workflow index ------------------------------------------------

    def put_saved(self, name: str, description: str, sha256: str) -> SavedWorkflowInfo:
        info = SavedWorkflowInfo(name=name, description=description, updated_at=time.time(), sha256=sha256)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO saved_workflows VALUES (?, ?, ?, ?)",
                (info.name, info.description, info.updated_at, info.sha256),
            )
        return info

    def list_saved(self) -> list[SavedWorkflowInfo]:
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM saved_workflows ORDER BY name").fetchall()
        return [SavedWorkflowInfo(**dict(row)) for row in rows]

    def get_saved(self, name: str) -> SavedWorkflowInfo | None:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM saved_workflows WHERE name=?", (name,)).fetchone()
        return None if row is None else SavedWorkflowInfo(**dict(row))

    def delete_saved(self, name: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM saved_workflows WHERE name=?", (name,)).rowcount == 1

"""Fan-out of run events from worker threads to websocket subscribers on the event loop.

An event is first persisted (which gives it its server-wide cursor id) and then
handed to the loop with call_soon_threadsafe, both under one lock: the loop sees
events in cursor order, so a subscriber that remembers the last cursor it was
sent can resume from the store without losing or repeating anything.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.store import EventRow, Store

DEFAULT_MAX_PENDING = 10_000


@dataclass(frozen=True)
class Frame:
    """One websocket message waiting to be sent."""

    payload: str | bytes
    client_id: str | None  # the run's client id; subscribers to one client only get theirs
    cursor: int | None = None  # set for persisted events, None for transient frames (previews, queue state)
    broadcast: bool = False  # server-wide state every subscriber gets


def event_frame_text(event: EventRow) -> str:
    """The websocket 'event' message, built around the stored JSON text (run ids are hex: no escaping)."""
    return f'{{"type":"event","id":{event.id},"run_id":"{event.run_id}","seq":{event.seq},"event":{event.body}}}'



class Subscriber:
    """One websocket's view of the stream: all runs, or the runs of one client id."""

    def __init__(self, client_id: str | None, max_pending: int) -> None:
        self.client_id = client_id
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(max_pending)
        # Set when a frame had to be dropped because the socket is too slow; the
        # sender then catches up from the store, so persisted events are never lost.
        self.lagged = False

    def wants(self, frame: Frame) -> bool:
        return frame.broadcast or self.client_id is None or frame.client_id == self.client_id


class EventHub:
    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._store = store
        self._loop = loop
        self._max_pending = max_pending
        self._publish_lock = threading.Lock()
        self._subscribers: set[Subscriber] = set()  # touched on the loop only

    def publish_event(self, run_id: str, seq: int, client_id: str | None, event: dict[str, Any]) -> int:
        """Persist a run event and send it to subscribers; callable from any thread. Returns its cursor."""
        body = json.dumps(event, separators=(",", ":"))
        with self._publish_lock:
            cursor = self._store.append_event(run_id, seq, client_id, body)
            self._hand_to_loop(Frame(event_frame_text(EventRow(cursor, run_id, seq, body)), client_id, cursor))
        return cursor

    def publish_transient(self, frame: Frame) -> None:
        """Send a frame that is not kept (previews, queue state); callable from any thread."""
        with self._publish_lock:
            self._hand_to_loop(frame)

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the event loop after `delay` seconds; callable from any thread."""
        try:
            self._loop.call_soon_threadsafe(self._loop.call_later, delay, callback)
        except RuntimeError:
            pass  # the loop has shut down

    def subscribe(self, client_id: str | None) -> Subscriber:
        subscriber = Subscriber(client_id, self._max_pending)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _hand_to_loop(self, frame: Frame) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, frame)
        except RuntimeError:
            pass  # the loop has shut down; persisted events stay in the store for replay

    def _deliver(self, frame: Frame) -> None:
        for subscriber in self._subscribers:
            if not subscriber.wants(frame):
                continue
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:
                if frame.cursor is not None:
                    subscriber.lagged = True

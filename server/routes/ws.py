"""The websocket: live events and previews, replay on reconnect, and run control (see server/PROTOCOL.md)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server.control import ControlError, cancel, submit
from server.hub import Subscriber, event_frame_text
from server.protocol import PROTOCOL_VERSION
from server.schemas import CLIENT_ID_PATTERN, RUN_ID_PATTERN, SubmitRequest
from server.state import ServerState, get_ws_state

router = APIRouter()

REPLAY_BATCH = 500
_RUN_AND_SEQ = re.compile(RUN_ID_PATTERN[:-1] + r":(\d{1,9})$")


class _BadRequest(ValueError):
    pass


def _parse_cursor(state: ServerState, last_event_id: str | None) -> int:
    """The store cursor to replay after: a cursor id, 'run_id:seq', or (none given) the present."""
    if last_event_id is None:
        return state.store.last_cursor()
    if last_event_id.isdigit() and len(last_event_id) <= 18:
        return int(last_event_id)
    match = _RUN_AND_SEQ.match(last_event_id)
    if match is None:
        raise _BadRequest("last_event_id must be an event 'id' or '<run_id>:<seq>'")
    cursor = state.store.cursor_of(last_event_id.split(":")[0], int(match.group(1)))
    if cursor is None:
        raise _BadRequest(f"no event {last_event_id!r} (deleted, or never sent)")
    return cursor


def _subscription(state: ServerState, websocket: WebSocket) -> tuple[str | None, str, int]:
    query = websocket.query_params
    client_id = query.get("client_id")
    if client_id is not None and not re.fullmatch(CLIENT_ID_PATTERN, client_id):
        raise _BadRequest("client_id must be 1-100 letters, digits, '_' or '-'")
    scope = query.get("scope", "client" if client_id else "all")
    if scope not in ("all", "client"):
        raise _BadRequest("scope must be 'all' or 'client'")
    if scope == "client" and client_id is None:
        raise _BadRequest("scope=client needs a client_id")
    return client_id, scope, _parse_cursor(state, query.get("last_event_id"))


class _Connection:
    """One socket: a sender draining the subscriber's queue, a receiver handling client messages."""

    def __init__(self, state: ServerState, websocket: WebSocket, client_id: str | None, subscriber: Subscriber) -> None:
        self.state = state
        self.websocket = websocket
        self.client_id = client_id
        self.subscriber = subscriber
        self._send_lock = asyncio.Lock()

    async def send(self, payload: str | bytes) -> None:
        async with self._send_lock:
            if isinstance(payload, bytes):
                await self.websocket.send_bytes(payload)
            else:
                await self.websocket.send_text(payload)

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send(json.dumps(message, separators=(",", ":")))

    async def replay(self, cursor: int) -> int:
        """Send the stored events after `cursor` that this subscriber wants; return the new cursor."""
        client_filter = self.subscriber.client_id
        while True:
            batch = await run_in_threadpool(self.state.store.events_after, cursor, client_filter, REPLAY_BATCH)
            for event in batch:
                await self.send(event_frame_text(event))
                cursor = event.id
            if len(batch) < REPLAY_BATCH:
                return cursor

    async def pump(self, cursor: int) -> None:
        cursor = await self.replay(cursor)
        await self.send_json({"type": "replay_done", "cursor": cursor})
        queue = self.subscriber.queue
        while True:
            frame = await queue.get()
            if self.subscriber.lagged:
                # Frames were dropped while this socket was slow: start over from the store.
                self.subscriber.lagged = False
                while not queue.empty():
                    queue.get_nowait()
                cursor = await self.replay(cursor)
                continue
            if frame.cursor is not None:
                if frame.cursor <= cursor:
                    continue  # already sent by a replay
                cursor = frame.cursor
            await self.send(frame.payload)

    async def listen(self) -> None:
        while True:
            received = await self.websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000))
            try:
                message = json.loads(received["text"]) if received.get("text") is not None else "a binary message"
            except ValueError as error:
                message = f"not JSON: {error}"
            if not isinstance(message, dict):
                await self.send_json({"type": "error", "status": 400,
                                      "detail": f"expected a JSON object like {{\"type\": \"ping\"}}; got {message!r:.80}"})
                continue
            await self.send_json(await self.handle(message))

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        request_id = message.get("request_id")
        kind = message.get("type")
        reply: dict[str, Any] = {"request_id": request_id} if request_id is not None else {}
        try:
            if kind == "submit":
                fields = {key: value for key, value in message.items() if key not in ("type", "request_id")}
                try:
                    request = SubmitRequest.model_validate(fields)
                except ValidationError as error:
                    raise ControlError(422, "malformed submit message",
                                       [{"code": "invalid_request", "message": item["msg"],
                                         "location": ".".join(str(part) for part in item["loc"])}
                                        for item in error.errors()]) from None
                response = await run_in_threadpool(submit, self.state, request, self.client_id)
                return {**reply, "type": "submitted", **response.model_dump()}
            if kind == "cancel":
                run_id = message.get("run_id")
                if not isinstance(run_id, str) or not re.fullmatch(RUN_ID_PATTERN, run_id):
                    raise ControlError(400, "cancel needs a 'run_id' (32 hex digits)")
                if self.state.store.get_run(run_id) is None:
                    raise ControlError(404, f"no run {run_id!r}")
                outcome = await run_in_threadpool(cancel, self.state, run_id)
                return {**reply, "type": "cancel_accepted", "run_id": run_id, "outcome": outcome.value}
            if kind == "ping":
                return {**reply, "type": "pong"}
            raise ControlError(400, f"unknown message type {kind!r}; expected 'submit', 'cancel' or 'ping'")
        except ControlError as error:
            return {**reply, "type": "error", "status": error.status, **error.to_json()}


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = get_ws_state(websocket)
    try:
        client_id, scope, cursor = await run_in_threadpool(_subscription, state, websocket)
    except _BadRequest as error:
        # Accept first: a refused handshake would hide the reason from browsers.
        await websocket.accept()
        await websocket.send_json({"type": "error", "status": 400, "detail": str(error)})
        await websocket.close(code=1008, reason=str(error)[:120])
        return
    await websocket.accept()
    # Subscribe before reading the store, so nothing published in between is missed
    # (duplicates are dropped by cursor instead).
    subscriber = state.hub.subscribe(client_id if scope == "client" else None)
    connection = _Connection(state, websocket, client_id, subscriber)
    tasks: list[asyncio.Task[None]] = []
    try:
        await connection.send_json({"type": "hello", "protocol": PROTOCOL_VERSION, "client_id": client_id,
                                    "scope": scope, "cursor": cursor})
        await connection.send_json(await run_in_threadpool(state.scheduler.queue_message))
        tasks = [asyncio.create_task(connection.pump(cursor)), asyncio.create_task(connection.listen())]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            failure = task.exception()
            if failure is not None and not isinstance(failure, (WebSocketDisconnect, RuntimeError)):
                raise failure
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        state.hub.unsubscribe(subscriber)

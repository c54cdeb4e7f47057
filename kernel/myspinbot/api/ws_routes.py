"""`/ws`: live job events with replay from a last event id, or a snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from myspinbot.api.deps import auth_error, bearer_token, credentials_of, owner_filter
from myspinbot.api.gateway import EventGateway, GatewayClient, event_frame
from myspinbot.core.auth import AuthFailed, TooManyAttempts
from myspinbot.core.identity import Principal
from myspinbot.core.jobfiles import JOB_ID
from myspinbot.core.jobs import utc_now
from myspinbot.core.kernel import Kernel
from myspinbot.core.store import EventsTrimmed, JobStore, StoreUnavailable, stream_key
from myspinbot_client.frames import ErrorFrame, HelloFrame, PongFrame, SnapshotFrame, SubscribedFrame
from myspinbot_client.models import ErrorInfo

EVENT_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
REPLAY_PAGE = 500
MAX_SUBSCRIBED_JOBS = 1000
UNAUTHORIZED_CLOSE = 4401
THROTTLED_CLOSE = 4429
AUTH_FRAME_SECONDS = 10.0
CLOSE_WAIT_SECONDS = 30.0

ws_router = APIRouter()


def error_frame(status: int, code: str, message: str) -> str:
    """An error frame in the common error shape."""
    return ErrorFrame(error=ErrorInfo(status=status, code=code, message=message)).model_dump_json(exclude_none=True)


def parse_jobs(value: Any) -> set[str] | None:
    """A subscription: None for every job, else a set of job ids; ValueError when malformed."""
    if value is None or value == "*" or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError('jobs must be "*" or a list of job ids')
    ids = {item.strip() for item in items if item.strip()}
    bad = [item for item in ids if not JOB_ID.match(item)]
    if bad:
        raise ValueError(f"not job ids: {', '.join(sorted(bad)[:5])}")
    if len(ids) > MAX_SUBSCRIBED_JOBS:
        raise ValueError(f"at most {MAX_SUBSCRIBED_JOBS} job ids per subscription")
    return ids


async def snapshot_frame(store: JobStore, jobs: set[str] | None, owner: str | None = None) -> str:
    """Current state of the subscribed jobs, or of every active job (only `owner`'s, for a member)."""
    if jobs is None:
        found = await store.active_jobs(owner=owner)
    else:
        found = [job for job in await asyncio.gather(*(store.get(job_id) for job_id in jobs)) if job is not None]
    if owner is not None:
        found = [job for job in found if job.owner == owner]
    return SnapshotFrame(jobs=found).model_dump_json()


async def own_jobs(store: JobStore, jobs: set[str] | None, owner: str | None) -> set[str] | None:
    """A subscription narrowed to the jobs `owner` may see (None: no narrowing needed).

    Everything sent by job id (events, telemetry frames) then reaches only jobs the caller may
    see; ids of other members' jobs, like ids of no job, are dropped without saying which.
    """
    if owner is None or jobs is None:
        return jobs
    found = await asyncio.gather(*(store.get(job_id) for job_id in jobs))
    return {job.id for job in found if job is not None and job.owner == owner}


async def replay(client: GatewayClient, gateway: EventGateway, store: JobStore, last_id: str) -> None:
    """Send every kept event after `last_id`, then go live without a gap or a repeat."""
    cursor = last_id
    while True:
        events = await store.events_after(cursor, REPLAY_PAGE)
        for event in events:
            if client.wants(event.job.id, event.job.owner):
                await client.send_now(event_frame(event))
            cursor = event.id
        # No await between this check and going live: the gateway cannot dispatch in between.
        if len(events) < REPLAY_PAGE and stream_key(cursor) >= stream_key(gateway.position):
            client.after = stream_key(cursor)
            client.live = True
            return


async def first_frame_key(websocket: WebSocket) -> str | None:
    """The key of an `{"op": "auth", "key": "..."}` first frame (for clients that cannot set headers)."""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), AUTH_FRAME_SECONDS)
        message = json.loads(text)
    except (TimeoutError, ValueError, KeyError):
        return None
    if isinstance(message, dict) and message.get("op") == "auth" and isinstance(message.get("key"), str):
        return str(message["key"])
    return None


async def authenticate_socket(websocket: WebSocket, kernel: Kernel) -> Principal | None:
    """Who the connection acts as, from `Authorization: Bearer` or an auth first frame; None after
    closing it with an error frame (401, or 429 after a storm of wrong keys).

    Never from the query string: a key in a URL ends up in access logs."""
    authenticator = kernel.authenticator
    key = bearer_token(websocket)
    try:
        if key is None and authenticator.required:
            principal = await authenticator.from_headers(credentials_of(websocket))
            if principal is not None:
                return principal
            key = await first_frame_key(websocket)
        return await authenticator.caller(credentials_of(websocket, api_key=key))
    except (AuthFailed, TooManyAttempts) as failure:
        error = auth_error(failure)
        message = error.message
        if isinstance(failure, AuthFailed):
            message += ' (as a header, or a first frame {"op": "auth", "key": "<API key>"})'
        await websocket.send_text(error_frame(error.status, error.code, message))
        close = THROTTLED_CLOSE if isinstance(failure, TooManyAttempts) else UNAUTHORIZED_CLOSE
        await websocket.close(close, error.code)
        return None
    except (WebSocketDisconnect, RuntimeError):
        return None


@ws_router.websocket("/ws")
async def job_events(websocket: WebSocket) -> None:
    """Frames: hello, then a replay (with last_event_id) or a snapshot, then live events."""
    kernel: Kernel = websocket.app.state.kernel
    gateway: EventGateway = websocket.app.state.gateway
    await websocket.accept()
    principal = await authenticate_socket(websocket, kernel)
    if principal is None:
        return
    try:
        jobs = parse_jobs(websocket.query_params.get("jobs"))
        last_id = websocket.query_params.get("last_event_id")
        if last_id is not None and not EVENT_ID.match(last_id):
            raise ValueError("last_event_id must be a stream id such as 1700000000000-0")
    except ValueError as error:
        await websocket.send_text(error_frame(422, "invalid_params", str(error)))
        await websocket.close(1008, "invalid query")
        return

    client = await gateway.join(websocket.send_text, timeout=5)
    if client is None:
        await websocket.send_text(
            error_frame(503, "store_unavailable", "the event stream (Redis) is unreachable; retry shortly")
        )
        await websocket.close(1013, "store unavailable")
        return
    client.owner = owner_filter(principal)
    client.subjects = frozenset(filter(None, (principal.key_id, f"user:{principal.name}")))
    store = kernel.store
    try:
        client.jobs = await own_jobs(store, jobs, client.owner)
        await client.send_now(HelloFrame(server_time=utc_now(), last_event_id=gateway.position).model_dump_json())
        try:
            if last_id is not None:
                await replay(client, gateway, store, last_id)
            else:
                raise EventsTrimmed("no replay asked")
        except EventsTrimmed:
            if last_id is not None:
                await client.send_now(
                    error_frame(
                        410, "events_trimmed", f"events after {last_id} are no longer kept; here is a fresh snapshot"
                    )
                )
            client.after = stream_key(gateway.position)
            client.live = True
            await client.send_now(await snapshot_frame(store, jobs, client.owner))
        client.start()
        await receive_loop(websocket, client, store)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except StoreUnavailable:
        client.drop(1013, "store unavailable; reconnect with last_event_id")
        await close_when_writable(websocket, client)
    finally:
        await gateway.remove(client)


async def close_when_writable(websocket: WebSocket, client: GatewayClient) -> None:
    """Close with the client's code once its socket takes the frame; give up after a while.

    The server's send waits while the socket is backed up, so a client that reads again soon
    still sees the code and reason; one that never reads is let go when we return.
    """
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(client.close_code, client.close_reason), CLOSE_WAIT_SECONDS)


async def receive_loop(websocket: WebSocket, client: GatewayClient, store: JobStore) -> None:
    """Handle the client's frames until it goes away or is dropped; a bad frame gets an error frame."""
    closing = asyncio.create_task(client.closing.wait())
    try:
        while True:
            receiving = asyncio.create_task(websocket.receive_text())
            done, _ = await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
            if receiving not in done:
                receiving.cancel()
                await close_when_writable(websocket, client)
                return
            await handle_frame(receiving.result(), client, store)
    finally:
        closing.cancel()


async def handle_frame(text: str, client: GatewayClient, store: JobStore) -> None:
    """Answer one client frame: ping, subscribe, or an error frame."""
    try:
        message = json.loads(text)
        if not isinstance(message, dict):
            raise ValueError("a frame must be a JSON object")
    except ValueError:
        client.offer(error_frame(400, "bad_frame", 'frames must be JSON objects such as {"op": "ping"}'))
        return
    op = message.get("op")
    if op == "ping":
        client.offer(PongFrame(server_time=utc_now()).model_dump_json())
    elif op == "auth":
        pass  # the connection is already authenticated (by its header, or auth was off)
    elif op == "subscribe":
        try:
            client.jobs = await own_jobs(store, parse_jobs(message.get("jobs", "*")), client.owner)
        except ValueError as error:
            client.offer(error_frame(422, "invalid_params", str(error)))
            return
        subscribed = SubscribedFrame(jobs="*" if client.jobs is None else sorted(client.jobs))
        client.offer(subscribed.model_dump_json())
        client.offer(await snapshot_frame(store, client.jobs, client.owner))
    else:
        client.offer(error_frame(400, "unknown_op", f"unknown op {op!r}; use 'subscribe' or 'ping'"))

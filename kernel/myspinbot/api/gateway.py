"""The event gateway: one reader per API process tails the event stream and fans out.

It reads only while it has clients (or one is joining): with none, an API process spends
nothing on the stream, which at full worker speed was ~500 µs of CPU per job (docs/performance.md).

Each WebSocket client has a bounded outbox and its own sender task, so a slow or dead client
only ever fills its own outbox; when that is full the client is disconnected (it reconnects
with its last event id and loses nothing) and nobody else waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Sequence

from myspinbot.api.stream_follower import follow_stream
from myspinbot.core.jobs import JobEvent
from myspinbot.core.kernel import LiveStats
from myspinbot.core.store import JobStore, stream_key

READ_BLOCK_MS = 1000
READ_BATCH = 500
SLOW_CLOSE_CODE = 4008
REVOKED_CLOSE_CODE = 4401
SLOW_CLOSE_REASON = "too slow: outbox full; reconnect with last_event_id"


def event_frame(event: JobEvent) -> str:
    """The JSON text of an event frame, built once per event and shared by every client."""
    # Hand-joined for speed; tests/events check it against myspinbot_client.frames.EventFrame.
    job_json = event.job.model_dump_json()
    return f'{{"type":"event","id":"{event.id}","event":"{event.event}","job":{job_json}}}'


class GatewayClient:
    """One connected client: its subscription, its outbox and its sender task."""

    def __init__(self, send: Callable[[str], Awaitable[None]], outbox_size: int, stats: LiveStats) -> None:
        self._send = send
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=outbox_size)
        self.jobs: set[str] | None = None  # None: every job
        self.owner: str | None = None  # None: every owner's jobs; else only this user's (a member)
        self.subjects: frozenset[str] = frozenset()  # key id and user whose revocation ends this client
        self.live = False
        self.after: tuple[int, int] = (0, 0)  # live events at or before this were replayed
        self.dropped = False
        self.closing = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.stats = stats
        self.sender: asyncio.Task[None] | None = None

    def wants(self, job_id: str, owner: str) -> bool:
        """Whether the client subscribed to this job and may see it."""
        return (self.owner is None or owner == self.owner) and (self.jobs is None or job_id in self.jobs)

    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting; False when the outbox is full."""
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def start(self) -> None:
        self.sender = asyncio.create_task(self._drain(), name="ws-sender")

    async def _drain(self) -> None:
        while True:
            frame = await self.outbox.get()
            await self._send(frame)
            self.stats.messages_sent += 1

    async def send_now(self, frame: str) -> None:
        """Send a frame ahead of the outbox (hello, snapshot, replay)."""
        await self._send(frame)
        self.stats.messages_sent += 1

    def drop(self, code: int, reason: str) -> None:
        """Stop feeding the client at once; its connection handler closes it with `code`.

        Nothing here waits on the client: the close frame goes out when its socket can take it
        (see ws_routes.close_when_writable), so a stuck client costs the others nothing.
        """
        if self.dropped:
            return
        self.dropped = True
        self.close_code, self.close_reason = code, reason
        if self.sender is not None:
            self.sender.cancel()
        self.closing.set()

    async def stop(self) -> None:
        if self.sender is not None:
            self.sender.cancel()
            with contextlib.suppress(BaseException):
                await self.sender


class EventGateway:
    """Tails the store's event stream and hands each event to the clients that want it."""

    def __init__(self, store: JobStore, outbox_size: int, stats: LiveStats | None = None) -> None:
        self.store = store
        self.outbox_size = outbox_size
        # A batch is dispatched without yielding; keep it well under an outbox so a client that
        # keeps up is never dropped because of one burst.
        self.read_batch = max(1, min(READ_BATCH, outbox_size // 2))
        self.clients: set[GatewayClient] = set()
        self.stats = stats or LiveStats()
        self.position = "0-0"  # id of the last event dispatched
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()  # set while following, once `position` is known
        # Set exactly while a client is connected or joining: the followers of this process read
        # their streams only then (the telemetry relay waits on it too).
        self.listened = asyncio.Event()
        self._joining = 0
        self._stopping = False
        self._frozen_at = 0
        # Called with every event read, before it goes out (the live queue feed uses it).
        self.listeners: list[Callable[[JobEvent], None]] = []

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-gateway")

    async def stop(self) -> None:
        """Stop reading and let every client go; every wait here is bounded, so a Redis client
        that does not answer a cancellation cannot hold up the API's shutdown."""
        self._stopping = True
        for client in list(self.clients):
            client.drop(1001, "server shutting down")
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=1.0)

    async def join(self, send: Callable[[str], Awaitable[None]], timeout: float) -> GatewayClient | None:
        """A new client once the gateway follows the stream (waking it if it idled); None if it
        could not start following within `timeout` (Redis unreachable)."""
        self._joining += 1
        self._note_listeners()
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            return None
        finally:
            self._joining -= 1
            self._note_listeners()
        # No await between `ready` and adding the client: the follower cannot go idle in between.
        return self.new_client(send)

    def new_client(self, send: Callable[[str], Awaitable[None]]) -> GatewayClient:
        client = GatewayClient(send, self.outbox_size, self.stats)
        self.clients.add(client)
        self._note_listeners()
        self.stats.clients = len(self.clients)
        self._freeze_when_grown()
        return client

    async def remove(self, client: GatewayClient) -> None:
        self.clients.discard(client)
        self._note_listeners()
        self.stats.clients = len(self.clients)
        if len(self.clients) < self._frozen_at // 2:
            gc.unfreeze()
            self._frozen_at = 0
        await client.stop()

    def revoke(self, subject: str) -> int:
        """Drop every client that came with this key id or belongs to this `user:<name>`; how many."""
        dropped = 0
        for client in list(self.clients):
            if subject in client.subjects and not client.dropped:
                client.drop(REVOKED_CLOSE_CODE, "access revoked: the key or user is no longer valid")
                dropped += 1
        return dropped

    def _freeze_when_grown(self) -> None:
        # Connections are long-lived; a full collection over the objects of 1,000 clients stalls the
        # loop ~180 ms and was the whole delivery tail. Moving them to the permanent generation
        # keeps collections short (docs/performance.md).
        count = len(self.clients)
        if count >= 100 and count >= self._frozen_at * 1.25:
            gc.freeze()
            self._frozen_at = count

    async def _run(self) -> None:
        await follow_stream(
            "event stream",
            latest_id=self.store.latest_event_id,
            read_after=lambda position: self.store.read_events(position, READ_BLOCK_MS, self.read_batch),
            handle=self._dispatch_all,
            stopping=lambda: self._stopping,
            on_start=self._started_at,
            idle=self._idle,
        )

    def _started_at(self, position: str) -> None:
        self.position = position
        self.ready.set()

    def _note_listeners(self) -> None:
        if self.clients or self._joining:
            self.listened.set()
        else:
            self.listened.clear()

    async def _idle(self) -> bool:
        """Wait while nobody listens (see follow_stream); True when it waited."""
        if self.listened.is_set():
            return False
        self.ready.clear()
        await self.listened.wait()
        return True

    async def _dispatch_all(self, events: Sequence[JobEvent]) -> None:
        for event in events:
            self.dispatch(event)

    def dispatch(self, event: JobEvent) -> None:
        """Offer one event to every live client that wants it; drop the ones that cannot keep up."""
        self.position = event.id
        for listener in self.listeners:
            listener(event)
        key = stream_key(event.id)
        frame: str | None = None
        job_id, owner = event.job.id, event.job.owner
        for client in self.clients:
            if not client.live or client.dropped or not client.wants(job_id, owner) or key <= client.after:
                continue
            if frame is None:
                frame = event_frame(event)
            if not client.offer(frame):
                client.drop(SLOW_CLOSE_CODE, SLOW_CLOSE_REASON)

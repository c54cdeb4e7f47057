"""`AsyncMySpinBotClient`: the asyncio client, on httpx and websockets' asyncio client."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from myspinbot_client import calls, webhooks
from myspinbot_client.calls import Call, Files, PathLike
from myspinbot_client.connection import Connection, TlsVerify, ws_ssl
from myspinbot_client.errors import ApiError, error_from_response
from myspinbot_client.identity import AsyncIdentityMethods
from myspinbot_client.models import (
    Artifact,
    ArtifactStream,
    Health,
    Job,
    JobEvent,
    JobPage,
    JobState,
    JobType,
    Plugin,
    Priority,
)
from myspinbot_client.queue_calls import AsyncQueueMethods
from myspinbot_client.telemetry import Logs, Metrics, TelemetryEvent, telemetry_of
from myspinbot_client.watch import (
    START_OF_STREAM,
    Backoff,
    WatchSession,
    connection_failure,
    decode_frame,
    job_ids_of,
    retry_delay,
)
from myspinbot_client.webhooks import CreatedWebhook, Webhook, WebhookDelivery

T = TypeVar("T")
AsyncReconnectHook = Callable[[ApiError, float], Awaitable[None] | None]
AsyncConnectHook = Callable[[str], Awaitable[None] | None]
AsyncTelemetryHook = Callable[[TelemetryEvent], Awaitable[None] | None]


class AsyncMySpinBotClient(AsyncQueueMethods, AsyncIdentityMethods):
    """The asyncio twin of `MySpinBotClient`: the same methods, awaited; `list` and `watch` are async iterators."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: TlsVerify = True,
        anonymous: bool = False,
    ) -> None:
        # anonymous: send no key even when the environment or the config file holds one (a login).
        self.connection = Connection.resolve(base_url, token)
        if anonymous:
            self.connection = Connection(base_url=self.connection.base_url, token=None)
        self.timeout = timeout
        self.verify = verify
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url, headers=self.connection.headers, timeout=timeout, verify=verify
        )

    async def __aenter__(self) -> AsyncMySpinBotClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    @property
    def base_url(self) -> str:
        """The API this client talks to."""
        return self.connection.base_url

    async def health(self) -> Health:
        """The API's health; `Health.ok` is False when it cannot reach Redis."""
        return await self._send(calls.health())

    async def plugins(self) -> builtins.list[Plugin]:
        """The plugins the API loaded."""
        return await self._send(calls.plugins())

    async def job_types(self) -> builtins.list[JobType]:
        """The job types the API accepts, with their parameter schemas and accepted files."""
        return await self._send(calls.job_types())

    async def submit(
        self,
        job_type: str,
        params: Mapping[str, Any] | None = None,
        files: Files | None = None,
        idempotency_key: str | None = None,
        priority: Priority | str | None = None,
    ) -> Job:
        """Submit a job; `files` maps multipart fields to paths (a bare list goes under "files")."""
        return await self._send(calls.submit(job_type, params, files, idempotency_key, priority))

    async def get(self, job_id: str) -> Job:
        """A job's current state."""
        return await self._send(calls.get_job(job_id))

    async def list_page(
        self,
        state: JobState | str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; pass its `next_cursor` as `cursor` for the next."""
        return await self._send(calls.list_jobs(state, job_type, limit, cursor))

    async def list(
        self,
        state: JobState | str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Job]:
        """Jobs newest first, across pages, up to `limit` in all (None: every job)."""
        cursor: str | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = await self.list_page(state, job_type, size, cursor)
            for job in page.jobs[:remaining]:
                yield job
            if remaining is not None:
                remaining -= min(len(page.jobs), remaining)
            if not page.next_cursor or not page.jobs:
                return
            cursor = page.next_cursor

    async def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one at once, a running one at its next step; 409 once finished."""
        return await self._send(calls.cancel(job_id))

    async def metrics(
        self,
        job_id: str,
        names: Sequence[str] | None = None,
        since_step: int | None = None,
        max_points: int | None = None,
    ) -> Metrics:
        """A job's metric series (those named, after `since_step`, each downsampled to `max_points`)."""
        return await self._send(calls.metrics(job_id, names, since_step, max_points))

    async def logs(self, job_id: str, tail: int | None = None, since: int | None = None) -> Logs:
        """A job's latest log lines (`tail` of them), or those after seq `since`."""
        return await self._send(calls.logs(job_id, tail, since))

    async def preview(self, job_id: str, version: int | None = None) -> tuple[bytes, str, int] | None:
        """A job's latest preview as (image bytes, content type, version); None if it sent none,
        or if its version is still `version`."""
        headers = {"If-None-Match": f'"{version}"'} if version is not None else None
        path = calls.preview_path(job_id)
        try:
            response = await self._http.get(path, headers=headers)
        except httpx.TransportError as error:
            raise calls.unavailable(self.connection.url(path), error) from error
        if response.status_code in (304, 404):
            return None
        if not response.is_success:
            raise error_from_response(response.status_code, response.content, response.reason_phrase)
        current = response.headers.get("x-preview-version", "0")
        return response.content, response.headers.get("content-type", ""), int(current) if current.isdigit() else 0

    async def webhooks(self) -> builtins.list[Webhook]:
        """Every webhook subscription (without secrets); 404 when the API has no webhooks plugin."""
        return await self._send(webhooks.list_webhooks())

    async def create_webhook(
        self,
        url: str,
        events: Sequence[str] = ("job.succeeded", "job.failed"),
        job_types: Sequence[str] = (),
        description: str = "",
    ) -> CreatedWebhook:
        """Subscribe a URL to job events; the result's `secret` is shown this once."""
        return await self._send(webhooks.create_webhook(url, events, job_types, description))

    async def delete_webhook(self, webhook_id: str) -> None:
        """Delete a subscription; its pending deliveries stop."""
        await self._send(webhooks.delete_webhook(webhook_id))

    async def webhook_deliveries(self, webhook_id: str) -> builtins.list[WebhookDelivery]:
        """A subscription's recent deliveries with their attempts, newest first."""
        return await self._send(webhooks.webhook_deliveries(webhook_id))

    async def ping_webhook(self, webhook_id: str) -> WebhookDelivery:
        """Send a signed `ping` to a subscription; the pending delivery."""
        return await self._send(webhooks.ping_webhook(webhook_id))

    async def artifacts(self, job_id: str) -> builtins.list[Artifact]:
        """The files a job produced."""
        return await self._send(calls.artifacts(job_id))

    async def download(self, job_id: str, out_dir: PathLike, names: Iterable[str] | None = None) -> builtins.list[Path]:
        """Save a job's artifacts (or those named) under `out_dir`; returns the paths written."""
        wanted = set(names) if names is not None else None
        written = []
        for artifact in await self.artifacts(job_id):
            if wanted is None or artifact.name in wanted:
                written.append(await self.download_artifact(job_id, artifact, out_dir))
        return written

    async def download_artifact(self, job_id: str, artifact: Artifact | str, out_dir: PathLike) -> Path:
        """Save one artifact (an `Artifact` or its name) under `out_dir`, written whole or not at all."""
        target = calls.artifact_path(Path(out_dir), calls.artifact_name(artifact))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            async with self.stream_artifact(job_id, artifact) as stream:
                with partial.open("wb") as out:
                    async for chunk in stream.chunks:
                        out.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        return target

    @asynccontextmanager
    async def stream_artifact(
        self, job_id: str, artifact: Artifact | str
    ) -> AsyncIterator[ArtifactStream[AsyncIterator[bytes]]]:
        """Read one artifact (an `Artifact` or its name) as it arrives, without saving it.

            async with api.stream_artifact(job_id, "preview.webp") as stream:
                print(stream.content_type, stream.size)
                async for chunk in stream.chunks:
                    ...

        An error answer (404 for an unknown name) raises `ApiError` on entering the block; a
        connection lost while reading raises `ApiUnavailable` from `chunks`.
        """
        url = calls.artifact_url(job_id, artifact)
        where = self.connection.url(url)
        async with AsyncExitStack() as stack:
            try:
                response = await stack.enter_async_context(self._http.stream("GET", url))
                if not response.is_success:
                    await response.aread()
            except httpx.TransportError as error:
                raise calls.unavailable(where, error) from error
            if not response.is_success:
                raise error_from_response(response.status_code, response.content, response.reason_phrase)
            chunks = _chunks(response, where)
            stack.push_async_callback(chunks.aclose)
            yield calls.artifact_stream(artifact, response, chunks)

    async def wait(self, job_id: str) -> Job:
        """Wait until a job is finished and return it (bound the wait with `asyncio.timeout`)."""
        job: Job | None = None
        async for event in self.watch(job_id):
            job = event.job
        return job if job is not None else await self.get(job_id)

    async def watch(
        self,
        jobs: str | Iterable[str] | None = None,
        *,
        last_event_id: str | None = None,
        stop_when_finished: bool = True,
        reconnect_for: float | None = 60.0,
        on_reconnect: AsyncReconnectHook | None = None,
        on_connect: AsyncConnectHook | None = None,
        on_telemetry: AsyncTelemetryHook | None = None,
    ) -> AsyncIterator[JobEvent]:
        """Yield job events from /ws; see `MySpinBotClient.watch` (`on_reconnect` and `on_connect` may be async).

        An async `on_connect` is awaited before the connection's events are read on, so what it
        loads is on hand before they are yielded.

        There is no `timeout`: bound a watch with `asyncio.timeout` as any other await.
        `on_telemetry(event)` gets each live telemetry frame of the watched jobs (given by id).
        """
        session = WatchSession(job_ids_of(jobs), last_event_id, stop_when_finished)
        backoff = Backoff(give_up_after=reconnect_for)
        while True:
            url = self.connection.ws_url("/ws", session.query())
            in_hook = False
            try:
                async with self._open_ws(url) as ws:
                    session.connected()
                    while not session.done:
                        frame = decode_frame(await ws.recv())
                        if on_telemetry is not None and (telemetry := telemetry_of(frame)) is not None:
                            in_hook = True
                            await _maybe_await(on_telemetry(telemetry))
                            in_hook = False
                            continue
                        for event in session.receive(frame):
                            yield event
                        for job_id in session.take_stale():
                            refreshed = await self._refresh(session, job_id)
                            if refreshed is not None:
                                yield refreshed
                        if frame.get("type") == "hello":
                            backoff.reset()
                            if on_connect is not None:
                                in_hook = True
                                await _maybe_await(on_connect(session.hello_id or START_OF_STREAM))
                                in_hook = False
                            async for event in self._current_state(session):
                                yield event
                    return
            except (ApiError, OSError, WebSocketException) as error:
                if in_hook:
                    raise  # the caller's own error, not the connection's
                failure = connection_failure(error, url, None)
            delay = retry_delay(failure, backoff, reconnecting=session.connections > 0)
            if on_reconnect is not None:
                await _maybe_await(on_reconnect(failure, delay))
            await asyncio.sleep(delay)

    async def _refresh(self, session: WatchSession, job_id: str) -> JobEvent | None:
        """A job's current state after a lost resume point; None if unchanged or gone."""
        try:
            job = await self.get(job_id)
        except ApiError as error:
            if error.status == 404:
                return None  # expired meanwhile
            raise
        return session.observe(job)

    async def _current_state(self, session: WatchSession) -> AsyncIterator[JobEvent]:
        if not session.needs_current_state or session.job_ids is None:
            return
        for job_id in session.job_ids:
            event = session.observe(await self.get(job_id))
            if event is not None:
                yield event
        session.needs_current_state = False

    def _open_ws(self, url: str) -> connect:
        return connect(
            url,
            additional_headers=self.connection.headers,
            ssl=ws_ssl(url, self.verify),
            open_timeout=min(self.timeout, 10.0),
            close_timeout=2.0,
            max_size=16 * 1024 * 1024,
        )

    async def _send(self, call: Call[T]) -> T:
        with ExitStack() as stack:
            try:
                response = await self._http.request(call.method, call.path, **call.request_args(stack))
            except httpx.TransportError as error:
                raise calls.unavailable(self.connection.url(call.path), error) from error
        return call.result(response)


async def _chunks(response: httpx.Response, where: str) -> AsyncGenerator[bytes, None]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.TransportError as error:
        raise calls.unavailable(where, error) from error


async def _maybe_await(outcome: Awaitable[None] | None) -> None:
    if outcome is not None:
        await outcome

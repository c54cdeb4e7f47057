"""`MySpinBotClient`: the blocking client, on httpx and websockets' sync client."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from myspinbot_client import calls, webhooks
from myspinbot_client.calls import Call, Files, PathLike
from myspinbot_client.connection import Connection, TlsVerify, threaded_ws_ssl
from myspinbot_client.errors import ApiError, error_from_response
from myspinbot_client.identity import IdentityMethods
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
from myspinbot_client.queue_calls import QueueMethods
from myspinbot_client.telemetry import Logs, Metrics, TelemetryEvent, telemetry_of
from myspinbot_client.watch import (
    START_OF_STREAM,
    Backoff,
    WatchSession,
    WatchTimeoutError,
    connection_failure,
    decode_frame,
    job_ids_of,
    retry_delay,
    time_left,
)
from myspinbot_client.webhooks import CreatedWebhook, Webhook, WebhookDelivery

T = TypeVar("T")
ReconnectHook = Callable[[ApiError, float], None]
ConnectHook = Callable[[str], None]
TelemetryHook = Callable[[TelemetryEvent], None]


class MySpinBotClient(QueueMethods, IdentityMethods):
    """A blocking client of the MySpinBot API.

    `base_url` and `token` default to `MYSPINBOT_API_URL` (else http://127.0.0.1:3000) and
    `MYSPINBOT_API_TOKEN`. Every API error raises `ApiError`; an unreachable API raises its
    subclass `ApiUnavailable`. Use it as a context manager, or call `close()`.
    `verify` checks the API's TLS certificate (False for a self-signed one, as `curl -k`).
    """

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
        self._http = httpx.Client(
            base_url=self.connection.base_url, headers=self.connection.headers, timeout=timeout, verify=verify
        )

    def __enter__(self) -> MySpinBotClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    @property
    def base_url(self) -> str:
        """The API this client talks to."""
        return self.connection.base_url

    def health(self) -> Health:
        """The API's health; `Health.ok` is False when it cannot reach Redis."""
        return self._send(calls.health())

    def plugins(self) -> builtins.list[Plugin]:
        """The plugins the API loaded."""
        return self._send(calls.plugins())

    def job_types(self) -> builtins.list[JobType]:
        """The job types the API accepts, with their parameter schemas and accepted files."""
        return self._send(calls.job_types())

    def submit(
        self,
        job_type: str,
        params: Mapping[str, Any] | None = None,
        files: Files | None = None,
        idempotency_key: str | None = None,
        priority: Priority | str | None = None,
    ) -> Job:
        """Submit a job; `files` maps multipart fields to paths (a bare list goes under "files")."""
        return self._send(calls.submit(job_type, params, files, idempotency_key, priority))

    def get(self, job_id: str) -> Job:
        """A job's current state."""
        return self._send(calls.get_job(job_id))

    def list_page(
        self,
        state: JobState | str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; pass its `next_cursor` as `cursor` for the next."""
        return self._send(calls.list_jobs(state, job_type, limit, cursor))

    def list(
        self,
        state: JobState | str | None = None,
        job_type: str | None = None,
        limit: int | None = None,
        page_size: int = 50,
    ) -> Iterator[Job]:
        """Jobs newest first, across pages, up to `limit` in all (None: every job)."""
        cursor: str | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            page = self.list_page(state, job_type, size, cursor)
            yield from page.jobs[:remaining]
            if remaining is not None:
                remaining -= min(len(page.jobs), remaining)
            if not page.next_cursor or not page.jobs:
                return
            cursor = page.next_cursor

    def cancel(self, job_id: str) -> Job:
        """Cancel a job: a queued one at once, a running one at its next step; 409 once finished."""
        return self._send(calls.cancel(job_id))

    def metrics(
        self,
        job_id: str,
        names: Sequence[str] | None = None,
        since_step: int | None = None,
        max_points: int | None = None,
    ) -> Metrics:
        """A job's metric series (those named, after `since_step`, each downsampled to `max_points`)."""
        return self._send(calls.metrics(job_id, names, since_step, max_points))

    def logs(self, job_id: str, tail: int | None = None, since: int | None = None) -> Logs:
        """A job's latest log lines (`tail` of them), or those after seq `since`."""
        return self._send(calls.logs(job_id, tail, since))

    def preview(self, job_id: str, version: int | None = None) -> tuple[bytes, str, int] | None:
        """A job's latest preview as (image bytes, content type, version); None if it sent none,
        or if its version is still `version`."""
        headers = {"If-None-Match": f'"{version}"'} if version is not None else None
        path = calls.preview_path(job_id)
        try:
            response = self._http.get(path, headers=headers)
        except httpx.TransportError as error:
            raise calls.unavailable(self.connection.url(path), error) from error
        if response.status_code in (304, 404):
            return None
        if not response.is_success:
            raise error_from_response(response.status_code, response.content, response.reason_phrase)
        current = response.headers.get("x-preview-version", "0")
        return response.content, response.headers.get("content-type", ""), int(current) if current.isdigit() else 0

    def webhooks(self) -> builtins.list[Webhook]:
        """Every webhook subscription (without secrets); 404 when the API has no webhooks plugin."""
        return self._send(webhooks.list_webhooks())

    def create_webhook(
        self,
        url: str,
        events: Sequence[str] = ("job.succeeded", "job.failed"),
        job_types: Sequence[str] = (),
        description: str = "",
    ) -> CreatedWebhook:
        """Subscribe a URL to job events; the result's `secret` is shown this once."""
        return self._send(webhooks.create_webhook(url, events, job_types, description))

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a subscription; its pending deliveries stop."""
        self._send(webhooks.delete_webhook(webhook_id))

    def webhook_deliveries(self, webhook_id: str) -> builtins.list[WebhookDelivery]:
        """A subscription's recent deliveries with their attempts, newest first."""
        return self._send(webhooks.webhook_deliveries(webhook_id))

    def ping_webhook(self, webhook_id: str) -> WebhookDelivery:
        """Send a signed `ping` to a subscription; the pending delivery."""
        return self._send(webhooks.ping_webhook(webhook_id))

    def artifacts(self, job_id: str) -> builtins.list[Artifact]:
        """The files a job produced."""
        return self._send(calls.artifacts(job_id))

    def download(self, job_id: str, out_dir: PathLike, names: Iterable[str] | None = None) -> builtins.list[Path]:
        """Save a job's artifacts (or those named) under `out_dir`; returns the paths written."""
        wanted = set(names) if names is not None else None
        folder = Path(out_dir)
        written = []
        for artifact in self.artifacts(job_id):
            if wanted is None or artifact.name in wanted:
                written.append(self.download_artifact(job_id, artifact, folder))
        return written

    def download_artifact(self, job_id: str, artifact: Artifact | str, out_dir: PathLike) -> Path:
        """Save one artifact (an `Artifact` or its name) under `out_dir`, written whole or not at all."""
        target = calls.artifact_path(Path(out_dir), calls.artifact_name(artifact))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            with self.stream_artifact(job_id, artifact) as stream, partial.open("wb") as out:
                for chunk in stream.chunks:
                    out.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        return target

    @contextmanager
    def stream_artifact(self, job_id: str, artifact: Artifact | str) -> Iterator[ArtifactStream[Iterator[bytes]]]:
        """Read one artifact (an `Artifact` or its name) as it arrives, without saving it.

            with api.stream_artifact(job_id, "preview.webp") as stream:
                print(stream.content_type, stream.size)
                for chunk in stream.chunks:
                    ...

        An error answer (404 for an unknown name) raises `ApiError` on entering the block; a
        connection lost while reading raises `ApiUnavailable` from `chunks`.
        """
        url = calls.artifact_url(job_id, artifact)
        where = self.connection.url(url)
        with ExitStack() as stack:
            try:
                response = stack.enter_context(self._http.stream("GET", url))
                if not response.is_success:
                    response.read()
            except httpx.TransportError as error:
                raise calls.unavailable(where, error) from error
            if not response.is_success:
                raise error_from_response(response.status_code, response.content, response.reason_phrase)
            chunks = _chunks(response, where)
            stack.callback(chunks.close)
            yield calls.artifact_stream(artifact, response, chunks)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until a job is finished and return it; `WatchTimeoutError` after `timeout` seconds."""
        job: Job | None = None
        for event in self.watch(job_id, timeout=timeout):
            job = event.job
        return job if job is not None else self.get(job_id)

    def watch(
        self,
        jobs: str | Iterable[str] | None = None,
        *,
        last_event_id: str | None = None,
        stop_when_finished: bool = True,
        timeout: float | None = None,
        reconnect_for: float | None = 60.0,
        on_reconnect: ReconnectHook | None = None,
        on_connect: ConnectHook | None = None,
        on_telemetry: TelemetryHook | None = None,
    ) -> Iterator[JobEvent]:
        """Yield job events from /ws: for one job, several, or every job (None).

        Watching given jobs ends once all are finished (unless `stop_when_finished` is False);
        a job that is already finished yields its state and ends. A dropped connection is
        retried with backoff for up to `reconnect_for` seconds (None: forever), resuming after
        the last event seen, so each event is yielded once. `on_reconnect(error, delay)` is
        told before each retry.

        `on_connect(last_event_id)` is called once per connection, after the server's hello and
        before any event of that connection is yielded, with the hello's `last_event_id`: the
        stream position the server had when the watch was subscribed ("0-0": an empty stream).
        From the hello on, every change to the watched jobs arrives as an event (after a
        reconnection, replayed from the last one seen), so state read in or after this hook
        (a page of `list_page`, say) misses nothing; keep a job's state only when its `version`
        is newer. An exception raised by a hook ends the watch and propagates as it is; it is
        never taken for a connection failure.

        `on_telemetry(event)` gets each live telemetry frame (`job.metric`, `job.log`,
        `job.artifact`, `job.preview`) of the watched jobs; they come only to a watch of given
        job ids, coalesced, and are not replayed after a reconnection.
        """
        session = WatchSession(job_ids_of(jobs), last_event_id, stop_when_finished)
        backoff = Backoff(give_up_after=reconnect_for)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            url = self.connection.ws_url("/ws", session.query())
            in_hook = False
            try:
                with self._open_ws(url) as ws:
                    session.connected()
                    while not session.done:
                        frame = decode_frame(ws.recv(timeout=time_left(deadline)))
                        if on_telemetry is not None and (telemetry := telemetry_of(frame)) is not None:
                            in_hook = True
                            on_telemetry(telemetry)
                            in_hook = False
                            continue
                        yield from session.receive(frame)
                        for job_id in session.take_stale():
                            refreshed = self._refresh(session, job_id)
                            if refreshed is not None:
                                yield refreshed
                        if frame.get("type") == "hello":
                            backoff.reset()
                            if on_connect is not None:
                                in_hook = True
                                on_connect(session.hello_id or START_OF_STREAM)
                                in_hook = False
                            yield from self._current_state(session)
                    return
            except WatchTimeoutError:
                raise
            except (ApiError, OSError, WebSocketException) as error:
                if in_hook:
                    raise  # the caller's own error, not the connection's
                failure = connection_failure(error, url, deadline)
            delay = retry_delay(failure, backoff, reconnecting=session.connections > 0)
            if on_reconnect is not None:
                on_reconnect(failure, delay)
            time.sleep(delay)

    def _refresh(self, session: WatchSession, job_id: str) -> JobEvent | None:
        """A job's current state after a lost resume point; None if unchanged or gone."""
        try:
            job = self.get(job_id)
        except ApiError as error:
            if error.status == 404:
                return None  # expired meanwhile
            raise
        return session.observe(job)

    def _current_state(self, session: WatchSession) -> Iterator[JobEvent]:
        if not session.needs_current_state or session.job_ids is None:
            return
        for job_id in session.job_ids:
            event = session.observe(self.get(job_id))
            if event is not None:
                yield event
        session.needs_current_state = False

    def _open_ws(self, url: str) -> ClientConnection:
        return connect(
            url,
            additional_headers=self.connection.headers,
            ssl=threaded_ws_ssl(url, self.verify),
            open_timeout=min(self.timeout, 10.0),
            close_timeout=2.0,
            max_size=16 * 1024 * 1024,
        )

    def _send(self, call: Call[T]) -> T:
        with ExitStack() as stack:
            try:
                response = self._http.request(call.method, call.path, **call.request_args(stack))
            except httpx.TransportError as error:
                raise calls.unavailable(self.connection.url(call.path), error) from error
        return call.result(response)


def _chunks(response: httpx.Response, where: str) -> Generator[bytes, None, None]:
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as error:
        raise calls.unavailable(where, error) from error

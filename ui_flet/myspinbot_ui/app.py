"""`Dashboard`: one browser session — its state, the live feed that updates it, and the views over it.

The views render the `JobBoard` and `BackendStatus`; what the user does (submit, cancel, filter,
load older, preview) goes through the client here. Rendering is coalesced: changes only mark
the page dirty, and a render loop draws at most a few times a second (and once a second while
jobs run, so elapsed times tick).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from pathlib import Path
from typing import Any

import flet as ft

from myspinbot_client import ApiError, ApiUnavailable, Artifact, AsyncMySpinBotClient, Job, JobType
from myspinbot_client.models import Priority
from myspinbot_ui.account import Account
from myspinbot_ui.config import UiConfig
from myspinbot_ui.forms import FORM_ERROR, api_errors, collect
from myspinbot_ui.job_router import JobRouter
from myspinbot_ui.live import LiveFeed
from myspinbot_ui.notifications import Notifications
from myspinbot_ui.queue_state import QueueBoard, batch_summaries
from myspinbot_ui.sessions import Login, SessionTable
from myspinbot_ui.state import JobBoard, JobFilter
from myspinbot_ui.status import BackendStatus
from myspinbot_ui.uploads import UploadBatch, UploadError
from myspinbot_ui.views.form import JobForm
from myspinbot_ui.views.header import Header, OutageBanner
from myspinbot_ui.views.job_list import JobList
from myspinbot_ui.views.job_row import RowActions, short_id
from myspinbot_ui.views.layout import PageLayout
from myspinbot_ui.views.notifications import NotificationsView
from myspinbot_ui.views.preview import preview_dialog
from myspinbot_ui.views.queues import QueuesPanel
from myspinbot_ui.views.submit import SubmitPanel
from myspinbot_ui.views.theme import apply_theme

log = logging.getLogger(__name__)

RENDER_INTERVAL = 0.15
TICK_SECONDS = 1.0
UPLOAD_TIMEOUT = 30 * 60.0
QUEUE_REFRESH_SECONDS = 2.0  # queues, workers and queued jobs' places (worked out on read)


class Dashboard:
    """Everything one browser tab sees, and what its buttons do."""

    def __init__(self, page: ft.Page, config: UiConfig, login: Login, table: SessionTable) -> None:
        self.page = page
        self.config = config
        # The signed-in user's own client: the API applies that user's rights to all this page does.
        self.client: AsyncMySpinBotClient = login.client
        client = login.client
        self.board = JobBoard()
        self.status = BackendStatus()
        self.titles: dict[str, str] = {}
        self.header = Header()
        self.banner = OutageBanner()
        self.submit = SubmitPanel(self.submit_form, self.changed, self._add_service)
        self.router = JobRouter(page, client, self.changed, self.show_board, self.train_more, self._spawn)
        actions = RowActions(
            cancel=self.cancel,
            preview=self.preview,
            open=self.router.open,
            run_next=self.run_next,
            retry=self.retry,
            edit=self.edit,
        )
        self.jobs = JobList(actions, self.filter_changed, self.load_older)
        self.queue_board = QueueBoard()
        self.queues_panel = QueuesPanel(self.toggle_pause)
        side = ft.Column([self.submit.control, self.queues_panel.control], spacing=20)
        self.layout = PageLayout(page, self.header, self.banner.control, side, self.jobs.control)
        self.feed = LiveFeed(
            client,
            self.board,
            self.status,
            self.changed,
            page_size=config.page_size,
            health_interval=config.health_interval,
            on_api_up=self.api_up,
            on_connected=self.live_connected,
        )
        self.notifications = Notifications(client, self.changed)
        self.notifications_view = NotificationsView(self.notifications, self.show_jobs)
        self.header.add_action(
            ft.Semantics(
                identifier="open-notifications",
                content=ft.TextButton(
                    "Notifications", icon=ft.Icons.NOTIFICATIONS_OUTLINED, on_click=lambda _: self.show_notifications()
                ),
            )
        )
        self.showing_notifications = False
        self.account = Account(
            page,
            login,
            table,
            self.header,
            changed=self.changed,
            show_page=self.show_page,
            show_board=self.show_jobs,
            stop=self.stop,
        )
        self._dirty = asyncio.Event()
        self._running: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()

    def mount(self) -> None:
        """Lay out the page (header, banner, then the form and the job list) and hook the session's events."""
        page = self.page
        page.title = "MySpinBot"
        apply_theme(page)
        page.on_disconnect = self._disconnected
        page.on_connect = self._connected
        page.on_close = self._disconnected
        page.on_resize = self._resized
        page.on_route_change = self.router.route_changed
        self.account.mount()
        self.layout.arrange(page.width)
        self.render()
        page.update()
        self.router.route_changed()  # opened at /jobs/<id>: a shared or reloaded job page

    def start(self) -> None:
        """Start the live feed and the render loop (again, after the browser reconnects)."""
        self.stop()
        self.status.live_restarted()
        self._running = [
            asyncio.create_task(self.feed.run()),
            asyncio.create_task(self._render_loop()),
            asyncio.create_task(self._queue_loop()),
        ]
        self.router.resume()

    def stop(self) -> None:
        """Stop the session's loops (the browser went away)."""
        for task in self._running:
            task.cancel()
        self._running = []
        self.notifications.stop()
        self.router.stop()

    def changed(self) -> None:
        """Something the page shows changed; it is drawn on the next render."""
        self._dirty.set()

    def render(self) -> None:
        """Bring every view up to date with the state."""
        if self.router.active:
            self.router.render()
            return
        if self.account.showing_users:
            self.account.render()
            self.header.render(self.status)
            return
        self.header.render(self.status)
        self.banner.render(self.status)
        self.submit.render(self.board)
        self.jobs.render(self.board)
        self.queues_panel.render(self.queue_board, batch_summaries(self.board.jobs()))
        if self.showing_notifications:
            self.notifications_view.render(self.notifications.state)

    def show_notifications(self) -> None:
        """Swap the jobs for the notifications page (webhooks), refreshed while it is shown."""
        self.show_page(self.notifications_view.page_control)
        self.showing_notifications = True
        self.notifications.start()
        self.changed()

    def show_page(self, control: ft.Control) -> None:
        """Put another page (notifications, users) under the header in place of the board."""
        self.showing_notifications = False
        self.account.showing_users = False
        self.notifications.stop()
        self.page.controls = [ft.Column([self.header.control, control], spacing=0, expand=True)]
        self.page.scroll = None
        self.layout.wide = None  # the jobs page is laid out afresh on the way back

    def show_jobs(self) -> None:
        """Back to the jobs page."""
        self.show_board()
        self.changed()

    async def api_up(self) -> None:
        """The API answers (at start or after an outage): refresh the job types."""
        self.set_job_types(await self.client.job_types())

    async def live_connected(self) -> None:
        """The live feed (re)connected: read the first page of the list shown, unless it was read."""
        if not self.board.page_cursor(self.jobs.filter).loaded:
            await self.feed.load_page(self.jobs.filter)

    def set_job_types(self, job_types: list[JobType]) -> None:
        """Offer these job types in the form and the type filter."""
        self.titles = {job_type.name: job_type.title or job_type.name for job_type in job_types}
        self.submit.set_job_types(job_types)
        self.jobs.set_titles(self.titles)
        self.changed()

    # --- what the user does ---

    async def submit_form(self, form: JobForm) -> None:
        """Check the form, upload its files to this server, then submit the job to the API."""
        params, errors = collect(form.spec, form.values())
        for upload in form.uploads:
            if problem := upload.problem():
                errors[upload.upload.field] = problem
        form.show_errors(errors)
        if errors:
            self.changed()
            return
        batch: UploadBatch | None = None
        try:
            files: dict[str, list[Path]] = {}
            picked = {upload.upload.field: [item.name for item in upload.picked] for upload in form.uploads}
            if any(picked.values()):
                count = sum(len(names) for names in picked.values())
                form.set_busy(True, f"Uploading {count} file{'s' if count != 1 else ''}…")
                self.page.update()
                batch = UploadBatch(self.config.upload_dir, picked)
                for upload in form.uploads:
                    await upload.send(batch, self.page)
                try:
                    async with asyncio.timeout(UPLOAD_TIMEOUT):
                        files = dict(await batch.wait())
                except TimeoutError:
                    raise UploadError(f"the files did not arrive within {UPLOAD_TIMEOUT / 60:.0f} minutes") from None
            form.set_busy(True, "Submitting…")
            self.page.update()
            if form.clone_of:
                job = await self.client.clone(form.clone_of, params, files or None)
                form.clone_done()
            else:
                job = await self.client.submit(form.spec.job_type, params, files or None)
        except ApiError as error:
            form.set_busy(False)
            form.show_errors(api_errors(error, form.spec))
            if isinstance(error, ApiUnavailable):
                self.feed.check_health_now()
        except UploadError as error:
            form.set_busy(False)
            form.show_errors({FORM_ERROR: f"Upload failed: {error}"})
        else:
            self.board.apply(job)
            form.show_submitted(job)
            self.notify(f"Job {short_id(job.id)} queued.")
        finally:
            if batch is not None:
                batch.remove()
        self.changed()

    def show_board(self) -> None:
        """Put the board (form and job list) back on the page."""
        self.showing_notifications = False
        self.account.showing_users = False
        self.notifications.stop()
        self.layout.wide = None
        self.layout.arrange(self.page.width)
        self.render()

    def train_more(self, params: dict[str, object]) -> None:
        """Prefill the train form (from a job page's "train more from here")."""
        if self.submit.prefill("train", params):
            self.notify("Train form filled in from the checkpoint: add the dataset files, then submit.")
        self.changed()

    def cancel(self, job: Job) -> None:
        """Ask the API to cancel a job; the row follows the answer and the events."""
        self._spawn(self._cancel(job))

    async def _cancel(self, job: Job) -> None:
        try:
            self.board.apply(await self.client.cancel(job.id))
        except ApiError as error:
            self.jobs.cancel_failed(job.id)
            if error.status == 409:
                self.notify(f"Job {short_id(job.id)} had already finished.")
            else:
                self.notify(f"Could not cancel job {short_id(job.id)}: {error.message}")
        self.changed()

    def run_next(self, job: Job) -> None:
        """Give a queued job high priority at the front of its queue."""
        self._spawn(self._act(job, "moved to the front", self.client.set_priority(job.id, Priority.HIGH, front=True)))

    def retry(self, job: Job) -> None:
        """Submit a failed or cancelled job again, with its parameters and files."""
        self._spawn(self._act(job, "retried", self.client.retry(job.id)))

    def edit(self, job: Job) -> None:
        """Prefill the job type's form from the job; its submit makes a clone."""
        self.submit.select(job.type)
        if (form := self.submit.form) is not None and form.spec.job_type == job.type:
            form.edit_copy(job)
        self.changed()

    def toggle_pause(self, queue: str, paused: bool) -> None:
        """Pause or resume a queue from its switch."""
        self._spawn(self._toggle_pause(queue, paused))

    async def _toggle_pause(self, queue: str, paused: bool) -> None:
        try:
            await (self.client.pause(queue) if paused else self.client.resume(queue))
        except ApiError as error:
            self.notify(f"Could not {'pause' if paused else 'resume'} {queue}: {error.message}")
        await self.queue_board.refresh(self.client, self.board)
        self.changed()

    async def _act(self, job: Job, done: str, call: Awaitable[Job]) -> None:
        try:
            changed = await call
        except ApiError as error:
            self.notify(f"Job {short_id(job.id)}: {error.message}")
        else:
            self.board.apply(changed)
            self.notify(
                f"Job {short_id(job.id)} {done}."
                + (f" New job {short_id(changed.id)}." if changed.id != job.id else "")
            )
            await self.queue_board.refresh(self.client, self.board)
        self.changed()

    async def _queue_loop(self) -> None:
        while True:
            if not self.showing_notifications:
                await self.queue_board.refresh(self.client, self.board)
                self.changed()
            await asyncio.sleep(QUEUE_REFRESH_SECONDS)

    def preview(self, job: Job, artifact: Artifact) -> None:
        """Open a job's preview image in a dialog."""
        self.page.show_dialog(preview_dialog(job, artifact, self.titles.get(job.type, job.type)))

    def filter_changed(self, job_filter: JobFilter) -> None:
        """Show another filter; read its first page from the API unless already read (or the feed is not live yet)."""
        if not self.board.page_cursor(job_filter).loaded:
            self._spawn(self.feed.load_page(job_filter))
        self.changed()

    def load_older(self, job_filter: JobFilter) -> None:
        """Read the next page of older jobs for the current filter."""
        self._spawn(self._load_older(job_filter))

    async def _load_older(self, job_filter: JobFilter) -> None:
        self.jobs.set_loading(True)
        self.changed()
        try:
            await self.feed.load_page(job_filter, older=self.board.page_cursor(job_filter).loaded)
        finally:
            self.jobs.set_loading(False)
            self.changed()

    def notify(self, message: str) -> None:
        """A short message at the bottom of the page."""
        # persist=False: Flutter keeps snack bars up forever while a screen reader is on otherwise.
        self.page.show_dialog(ft.SnackBar(ft.Text(message), duration=ft.Duration(seconds=4), persist=False))

    # --- plumbing ---

    async def _render_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_SECONDS):
                    await self._dirty.wait()
            if not self._dirty.is_set() and not self.board.active():
                continue  # nothing changed and no elapsed time to tick
            self._dirty.clear()
            try:
                self.render()
                self.page.update()
            except Exception:  # a drawing problem must not end the session's updates
                log.exception("rendering the dashboard failed")
            await asyncio.sleep(RENDER_INTERVAL)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _add_service(self, service: ft.FilePicker) -> None:
        self.page.services.append(service)

    def _resized(self, event: ft.PageResizeEvent) -> None:
        if self.showing_notifications or self.account.showing_users or self.router.active:
            return  # another page is shown; show_board lays the board out afresh on the way back
        if self.layout.arrange(event.width):
            self.page.update()

    def _disconnected(self, _: ft.Event[ft.Page]) -> None:
        self.stop()

    def _connected(self, _: ft.Event[ft.Page]) -> None:
        if not self.account.belongs_here():  # Flet reattached this kept page to another login's connection
            self.account.refuse_foreign()
            return
        self.start()

"""`JobRouter`: the `/jobs/<id>` route of the dashboard — a job page of its own URL, shareable and reloadable.

The dashboard hands it route changes; on a job route it puts the job page on the page and runs
its live session, on any other it stops the session and gives the page back to the board.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import flet as ft

from myspinbot_client import Artifact, AsyncMySpinBotClient, Job
from myspinbot_ui.job_detail import JobDetail, job_id_of_route, job_route
from myspinbot_ui.job_session import JobPageSession
from myspinbot_ui.views.job_page import JobPage, JobPageActions
from myspinbot_ui.views.preview import preview_dialog


class JobRouter:
    """Shows the job page while the route is `/jobs/<id>`."""

    def __init__(
        self,
        page: ft.Page,
        client: AsyncMySpinBotClient,
        changed: Callable[[], None],
        show_board: Callable[[], None],
        train_more: Callable[[dict[str, object]], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.page = page
        self.client = client
        self.changed = changed
        self.show_board = show_board
        self.on_train_more = train_more
        self.spawn = spawn
        self.session: JobPageSession | None = None
        self.view: JobPage | None = None

    @property
    def active(self) -> bool:
        """Whether a job page is shown."""
        return self.view is not None

    def open(self, job: Job) -> None:
        """Go to a job's page (a new browser history entry)."""
        self.spawn(self.page.push_route(job_route(job.id)))

    def back(self) -> None:
        """Go back to the job list."""
        self.spawn(self.page.push_route("/"))

    def route_changed(self, _: object = None) -> None:
        """Show what the current route names."""
        job_id = job_id_of_route(self.page.route or "/")
        if job_id is None:
            if self.active:
                self.close()
                self.show_board()
                self.page.update()
            return
        if self.session is not None and self.session.detail.job_id == job_id:
            return
        self.close()
        actions = JobPageActions(back=self.back, train_more=self.train_more, enlarge=self.enlarge)
        self.view = JobPage(actions)
        self.session = JobPageSession(self.client, job_id, self.changed)
        self.page.controls = [ft.Container(self.view.control, padding=20, expand=True)]
        self.page.scroll = None
        self.view.render(self.session.detail)
        self.session.start()
        self.page.update()

    def render(self) -> None:
        """Redraw the job page from its session's state."""
        if self.view is not None and self.session is not None:
            self.view.render(self.session.detail)

    def resume(self) -> None:
        """Start the session again (the browser reconnected)."""
        if self.session is not None:
            self.session.start()

    def stop(self) -> None:
        """Stop the session's loops (the browser went away)."""
        if self.session is not None:
            self.session.stop()

    def close(self) -> None:
        """Leave the job page."""
        self.stop()
        self.session = None
        self.view = None

    def train_more(self, detail: JobDetail, checkpoint: Artifact) -> None:
        """Back to the board with the train form holding this job's parameters, resumed from `checkpoint`."""
        params = detail.train_more(checkpoint)
        # Board first, then the form's values, then the URL: the route change finds nothing to do.
        self.close()
        self.show_board()
        self.on_train_more(params)
        self.page.update()
        self.back()

    def enlarge(self, artifact: Artifact) -> None:
        """A sample in a dialog, larger."""
        job = self.session.detail.job if self.session else None
        if job is not None:
            self.page.show_dialog(preview_dialog(job, artifact, f"{artifact.caption or artifact.name}"))

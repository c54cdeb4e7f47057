"""`QueuesPanel`: each queue with its waiting and running jobs, a pause switch and its workers,
then the batches in the list with their aggregated progress."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from myspinbot_client.queues import QueueInfo
from myspinbot_ui.queue_state import BatchSummary, QueueBoard
from myspinbot_ui.views.job_row import short_id
from myspinbot_ui.views.theme import RADIUS

TogglePause = Callable[[str, bool], None]


def section_label(text: str) -> ft.Text:
    return ft.Text(text, size=16, weight=ft.FontWeight.W_600)


def queue_line(queue: QueueInfo) -> str:
    """ "3 waiting · 1 running · 2 slots" """
    slots = f"{queue.concurrency} slot" + ("s" if queue.concurrency != 1 else "")
    return f"{queue.depth} waiting · {queue.running} running · {slots}"


def workers_line(queue: QueueInfo) -> str:
    if not queue.workers:
        return "no worker serves it"
    return ", ".join(f"{worker.host or worker.name} ×{worker.concurrency}" for worker in queue.workers)


class QueuesPanel:
    """The queues and the batches; the switch pauses or resumes a queue through `on_toggle`."""

    def __init__(self, on_toggle: TogglePause) -> None:
        self.on_toggle = on_toggle
        self.queue_rows = ft.Column(spacing=8)
        self.batch_rows = ft.Column(spacing=8)
        self.error = ft.Text("", size=12, color=ft.Colors.ERROR, visible=False)
        self.batches_title = section_label("Batches")
        self.summary = ft.Text("", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        # Folded by default: the form above keeps its place; the summary says what matters.
        self.tile = ft.ExpansionTile(
            title=section_label("Queues"),
            subtitle=self.summary,
            controls=[ft.Column([self.error, self.queue_rows], spacing=8)],
            controls_padding=ft.Padding.only(top=4, bottom=8),
            tile_padding=ft.Padding.symmetric(horizontal=4),
            maintain_state=True,
            shape=ft.RoundedRectangleBorder(radius=8),
            collapsed_shape=ft.RoundedRectangleBorder(radius=8),
        )
        self.control = ft.Semantics(
            identifier="queues-panel",
            container=True,
            content=ft.Column(
                [ft.Semantics(identifier="queues-toggle", content=self.tile), self.batches_title, self.batch_rows],
                spacing=10,
            ),
        )
        self._key: object = None

    def render(self, queues: QueueBoard, batches: list[BatchSummary]) -> None:
        """Show the queues as last read and the batches the board holds."""
        key = (
            [(q.name, q.paused, q.depth, q.running, q.concurrency, workers_line(q)) for q in queues.queues],
            [(b.id, b.total, round(b.progress, 3), b.counts_text()) for b in batches],
            queues.error,
        )
        if key == self._key:
            return
        self._key = key
        self.error.value = f"Queues unavailable: {queues.error}" if queues.error else ""
        self.error.visible = bool(queues.error)
        self.queue_rows.controls = [self._queue_row(queue) for queue in queues.queues]
        paused = sum(1 for queue in queues.queues if queue.paused)
        waiting = sum(queue.depth for queue in queues.queues)
        running = sum(queue.running for queue in queues.queues)
        self.summary.value = f"{len(queues.queues)} queues · {paused} paused · {waiting} waiting · {running} running"
        self.batch_rows.controls = [self._batch_row(batch) for batch in batches]
        self.batches_title.visible = bool(batches)

    def _queue_row(self, queue: QueueInfo) -> ft.Control:
        switch = ft.Switch(
            label="Paused",
            value=queue.paused,
            on_change=lambda event, name=queue.name: self.on_toggle(name, bool(event.control.value)),
        )
        return ft.Semantics(
            identifier=f"queue-{queue.name}",
            container=True,
            content=ft.Container(
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Text(queue.name, size=15, weight=ft.FontWeight.W_600, expand=True),
                                ft.Semantics(identifier=f"pause-{queue.name}", content=switch),
                            ],
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                        ),
                        ft.Text(("Paused · " if queue.paused else "") + queue_line(queue), size=13),
                        ft.Text(workers_line(queue), size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                    ],
                    spacing=4,
                ),
                padding=ft.Padding.symmetric(horizontal=12, vertical=10),
                border_radius=RADIUS,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            ),
        )

    def _batch_row(self, batch: BatchSummary) -> ft.Control:
        return ft.Semantics(
            identifier=f"batch-{batch.id}",
            container=True,
            content=ft.Container(
                ft.Column(
                    [
                        ft.Text(
                            f"Batch {short_id(batch.id)} · {batch.total} {batch.job_type} jobs",
                            weight=ft.FontWeight.W_500,
                        ),
                        ft.ProgressBar(
                            value=batch.progress,
                            bar_height=6,
                            border_radius=3,
                            semantics_label=f"Progress of batch {short_id(batch.id)}",
                        ),
                        ft.Text(f"{batch.progress * 100:.0f}% · {batch.counts_text()}", size=12),
                    ],
                    spacing=4,
                ),
                padding=ft.Padding.symmetric(horizontal=12, vertical=10),
                border_radius=RADIUS,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            ),
        )

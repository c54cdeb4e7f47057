"""The job page: state and parameters, a chart per metric, the sample grid, checkpoints, log tail, live preview.

It draws a `JobDetail`; every metric series the job reports gets a chart, whatever its name, so a
third-party job type needs no change here. Charts are redrawn only when their series grew, from
at most a few hundred downsampled points.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import flet as ft
import flet_charts as fch

from myspinbot_client import Artifact
from myspinbot_client.display import format_size
from myspinbot_ui.artifacts import artifact_href
from myspinbot_ui.job_detail import JobDetail
from myspinbot_ui.views.theme import STATE_COLORS, STATE_LABELS, pill

CHART_COLORS = (ft.Colors.CYAN, ft.Colors.AMBER, ft.Colors.PINK_300, ft.Colors.LIGHT_GREEN, ft.Colors.PURPLE_200)
SAMPLE_SIDE = 112


@dataclass(frozen=True)
class JobPageActions:
    """What the page's buttons do (the dashboard provides them)."""

    back: Callable[[], None]
    train_more: Callable[[JobDetail, Artifact], None]
    enlarge: Callable[[Artifact], None]


def section(title: str, body: ft.Control, identifier: str) -> ft.Control:
    """A titled card of the page."""
    return ft.Semantics(
        identifier=identifier,
        content=ft.Container(
            ft.Column([ft.Text(title, size=16, weight=ft.FontWeight.W_600), body], spacing=10),
            padding=16,
            border_radius=12,
            bgcolor=ft.Colors.SURFACE_CONTAINER,
        ),
    )


class MetricChart:
    """One metric's line chart."""

    def __init__(self, name: str, color: str) -> None:
        self.name = name
        self.drawn = -1
        self.line = fch.LineChartData(points=[], color=color, stroke_width=2, curved=False)
        self.caption = ft.Text("", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        self.chart = fch.LineChart(
            data_series=[self.line],
            height=200,
            expand=True,
            interactive=False,
            left_axis=fch.ChartAxis(label_size=64, show_min=False, show_max=False),
            bottom_axis=fch.ChartAxis(label_size=28),
            horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.OUTLINE_VARIANT, width=0.5),
        )
        self.control = ft.Semantics(
            identifier=f"chart-{name}",
            content=ft.Container(
                ft.Column([ft.Text(name, weight=ft.FontWeight.W_600), self.chart, self.caption], spacing=6),
                padding=12,
                border_radius=10,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
                col={"xs": 12, "lg": 6},
            ),
        )

    def render(self, detail: JobDetail) -> None:
        series = detail.series.get(self.name)
        if series is None or len(series.steps) == self.drawn:
            return
        self.drawn = len(series.steps)
        steps, values = series.for_chart()
        self.line.points = [fch.LineChartDataPoint(x=step, y=value) for step, value in zip(steps, values, strict=True)]
        low, high = min(values), max(values)
        pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
        self.chart.min_y, self.chart.max_y = low - pad, high + pad
        self.chart.min_x, self.chart.max_x = steps[0], max(steps[-1], steps[0] + 1)
        self.caption.value = (
            f"{len(series.steps)} points · last {series.values[-1]:.5g} at step {series.steps[-1]} · "
            f"min {min(series.values):.5g}"
        )


class JobPage:
    """The controls of the job page, redrawn from a `JobDetail`."""

    def __init__(self, actions: JobPageActions) -> None:
        self.actions = actions
        self.title = ft.Text("", size=22, weight=ft.FontWeight.W_600)
        self.state = ft.Container()
        self.progress = ft.ProgressBar(value=0, expand=True)
        self.message = ft.Text("", size=13)
        self.params = ft.Text("", size=12, selectable=True, font_family="monospace")
        self.charts: dict[str, MetricChart] = {}
        self.chart_row = ft.ResponsiveRow([], spacing=12, run_spacing=12)
        self.no_metrics = ft.Text("No metrics reported yet.", color=ft.Colors.ON_SURFACE_VARIANT)
        self.samples = ft.Column([], spacing=6, scroll=ft.ScrollMode.AUTO)
        self.checkpoint_list = ft.Column([], spacing=4)
        self.outputs = ft.Column([], spacing=4)
        self.log_lines = ft.ListView([], spacing=1, height=220, auto_scroll=True)
        self.preview = ft.Image(src=b"", width=320, height=200, fit=ft.BoxFit.CONTAIN)
        self.preview_note = ft.Text("No live preview.", color=ft.Colors.ON_SURFACE_VARIANT)
        self.drawn_artifacts: tuple[str, ...] | None = None
        self.drawn_seq = -1
        back = ft.TextButton("All jobs", icon=ft.Icons.ARROW_BACK, on_click=lambda _: self.actions.back())
        header = ft.Row([back, self.title, self.state], spacing=16, vertical_alignment=ft.CrossAxisAlignment.CENTER)
        self.sample_section = section("Samples", self.samples, "job-samples")
        self.checkpoint_section = section("Checkpoints", self.checkpoint_list, "job-checkpoints")
        # The wrapper is what hides: Flutter draws an error box for a Semantics whose content is hidden.
        self.preview_image = ft.Semantics(
            identifier="live-preview", container=True, label="No live preview yet", content=self.preview, visible=False
        )
        self.preview_section = section(
            "Live preview", ft.Column([self.preview_image, self.preview_note]), "job-preview"
        )
        self.control = ft.Column(
            [
                header,
                ft.Row([self.progress], spacing=8),
                self.message,
                section("Metrics", ft.Column([self.no_metrics, self.chart_row]), "job-metrics"),
                self.preview_section,
                self.sample_section,
                self.checkpoint_section,
                section("Outputs", self.outputs, "job-outputs"),
                section("Log", self.log_lines, "job-log"),
                section("Parameters", self.params, "job-params"),
            ],
            spacing=16,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def render(self, detail: JobDetail) -> None:
        """Bring the page up to date with `detail`."""
        job = detail.job
        if detail.missing:
            self.title.value = f"No job {detail.job_id[:8]}"
            self.message.value = "It does not exist or has expired."
            return
        if job is None:
            self.title.value = f"Job {detail.job_id[:8]}"
            self.message.value = "Loading…"
            return
        self.title.value = f"{job.type} · {job.id[:8]}"
        self.state.content = pill(
            STATE_LABELS.get(job.state, job.state.value), STATE_COLORS.get(job.state, ft.Colors.OUTLINE)
        )
        self.progress.value = job.progress
        self.message.value = job.error or job.message or job.state.value
        self.params.value = json.dumps(job.params, indent=2, sort_keys=True)
        self._render_charts(detail)
        self._render_artifacts(detail)
        self._render_logs(detail)
        self._render_preview(detail)

    def _render_charts(self, detail: JobDetail) -> None:
        for name in sorted(detail.series):
            if name not in self.charts:
                self.charts[name] = MetricChart(name, CHART_COLORS[len(self.charts) % len(CHART_COLORS)])
                self.chart_row.controls.append(self.charts[name].control)
            self.charts[name].render(detail)
        self.no_metrics.visible = not self.charts

    def _render_artifacts(self, detail: JobDetail) -> None:
        names = tuple(item.name for item in detail.artifacts)
        if names == self.drawn_artifacts:
            return
        self.drawn_artifacts = names
        grid = detail.sample_grid()
        rows: list[ft.Control] = []
        if grid.prompts:
            rows.append(
                ft.Row(
                    [ft.Container(width=72)]
                    + [ft.Text(prompt, width=SAMPLE_SIDE, size=11, max_lines=2) for prompt in grid.prompts],
                    spacing=6,
                )
            )
        for step in grid.steps:
            cells: list[ft.Control] = [ft.Text(f"step {step}", width=72, size=12)]
            for prompt in grid.prompts:
                artifact = grid.cells.get((step, prompt))
                cells.append(self._sample_cell(detail.job_id, artifact))
            rows.append(ft.Row(cells, spacing=6))
        self.samples.controls = rows
        self.sample_section.visible = bool(grid.steps)

        checkpoints = detail.checkpoints()
        self.checkpoint_list.controls = [self._checkpoint_row(detail, item) for item in checkpoints]
        self.checkpoint_section.visible = bool(checkpoints)
        self.outputs.controls = [self._download_row(detail.job_id, item) for item in detail.outputs()] or [
            ft.Text("None yet.", color=ft.Colors.ON_SURFACE_VARIANT)
        ]

    def _sample_cell(self, job_id: str, artifact: Artifact | None) -> ft.Control:
        if artifact is None:
            return ft.Container(width=SAMPLE_SIDE, height=SAMPLE_SIDE)
        image = ft.Image(src=artifact_href(job_id, artifact.name), width=SAMPLE_SIDE, height=SAMPLE_SIDE)
        return ft.Semantics(
            identifier=f"sample-{artifact.step}-{artifact.seed}",
            button=True,
            label=f"sample at step {artifact.step}: {artifact.caption}",
            content=ft.GestureDetector(content=image, on_tap=lambda _, item=artifact: self.actions.enlarge(item)),
        )

    def _checkpoint_row(self, detail: JobDetail, artifact: Artifact) -> ft.Control:
        more = ft.Button(
            "Train more from here",
            icon=ft.Icons.PLAY_ARROW,
            on_click=lambda _, item=artifact: self.actions.train_more(detail, item),
        )
        return ft.Row(
            [
                self._download_row(detail.job_id, artifact),
                ft.Semantics(identifier=f"train-more-{artifact.step}", content=more),
            ],
            spacing=12,
        )

    @staticmethod
    def _download_row(job_id: str, artifact: Artifact) -> ft.Control:
        step = f"step {artifact.step} · " if artifact.step is not None else ""
        link = ft.TextButton(
            artifact.name, icon=ft.Icons.DOWNLOAD, url=artifact_href(job_id, artifact.name, download=True)
        )
        return ft.Row([link, ft.Text(f"{step}{format_size(artifact.size)}", size=12)], spacing=8)

    def _render_logs(self, detail: JobDetail) -> None:
        if detail.last_seq == self.drawn_seq:
            return
        self.drawn_seq = detail.last_seq
        self.log_lines.controls = [
            ft.Text(f"{line.time[11:19]}  {line.level:<7} {line.message}", size=12, font_family="monospace")
            for line in detail.logs
        ]

    def _render_preview(self, detail: JobDetail) -> None:
        has_preview = detail.preview is not None
        self.preview_image.visible = has_preview
        self.preview_section.visible = has_preview or (detail.job is not None and detail.job.type == "generate")
        if detail.preview is not None and self.preview.src != detail.preview:
            self.preview.src = detail.preview
            self.preview_image.label = f"Live preview, version {detail.preview_version}"
            self.preview_note.value = f"Preview version {detail.preview_version}"

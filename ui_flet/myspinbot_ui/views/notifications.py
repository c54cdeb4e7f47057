"""The notifications page: add a webhook, see its secret once, send a test, read recent deliveries."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from myspinbot_client import Webhook, WebhookDelivery
from myspinbot_ui.notifications import DEFAULT_EVENTS, EVENT_CHOICES, Notifications, NotificationsState
from myspinbot_ui.views.theme import (
    BAD_COLOR,
    IDLE_COLOR,
    OK_COLOR,
    add_card,
    card,
    later,
    muted,
    other_page,
    pill,
    section_title,
)

DELIVERY_COLORS = {"succeeded": OK_COLOR, "failed": BAD_COLOR, "pending": IDLE_COLOR}


def attempt_summary(delivery: WebhookDelivery) -> str:
    """`3 attempts · last HTTP 200 in 12 ms` or the last error."""
    count = len(delivery.attempts)
    if not count:
        return "not sent yet"
    last = delivery.attempts[-1]
    outcome = f"HTTP {last.status_code}" if last.status_code is not None else (last.error or "no answer")
    text = f"{count} attempt{'s' if count != 1 else ''} · last {outcome} in {last.latency_ms:.0f} ms"
    if delivery.state == "failed" and delivery.error and delivery.error not in text:
        text += f" · {delivery.error}"
    return text


class NotificationsView:
    """Renders `NotificationsState`; its buttons call `Notifications`."""

    def __init__(self, notifications: Notifications, on_back: Callable[[], None]) -> None:
        self.notifications = notifications
        self.url = ft.TextField(label="Receiver URL", hint_text="https://hooks.example.com/myspinbot", expand=True)
        self.events = {name: ft.Checkbox(label=name, value=name in DEFAULT_EVENTS) for name in EVENT_CHOICES}
        self.form_error = ft.Text("", color=ft.Colors.ERROR, visible=False)
        self.secret = ft.Container(visible=False)
        self.message = muted("", size=13)
        self.hooks = ft.Column(spacing=12)
        self.cards: dict[str, HookCard] = {}
        add_button = ft.Button("Add webhook", icon=ft.Icons.ADD_LINK, on_click=self._add)
        add_form = add_card(
            "Add a webhook",
            "Each event is POSTed as signed JSON; see the webhooks guide to verify it.",
            [ft.Row([self.url]), ft.Row(list(self.events.values()), wrap=True, spacing=8)],
            self.form_error,
            ft.Semantics(identifier="add-webhook", content=add_button),
        )
        hooks = card(ft.Column([section_title("Webhooks"), self.hooks], spacing=12))
        self.page_control = other_page("Notifications", on_back, [add_form, self.secret, self.message, hooks])

    def render(self, state: NotificationsState) -> None:
        """Bring the page up to date with the state."""
        self.form_error.value = state.form_error or ""
        self.form_error.visible = bool(state.form_error)
        self.message.value = state.message or ""
        self._render_secret(state)
        if state.unavailable:
            self.hooks.controls = [muted(state.unavailable, size=14)]
        elif not state.loaded:
            self.hooks.controls = [muted("Loading webhooks…", size=14)]
        elif not state.webhooks:
            self.hooks.controls = [muted("No webhooks yet.", size=14)]
        else:
            # Each webhook keeps its card (and buttons) across refreshes, so a click never lands on a
            # control that a refresh just replaced; only the deliveries under it are redrawn.
            self.cards = {
                hook.id: self.cards.get(hook.id) or HookCard(hook, self.notifications) for hook in state.webhooks
            }
            for hook in state.webhooks:
                self.cards[hook.id].render(state.deliveries.get(hook.id, []))
            self.hooks.controls = [self.cards[hook.id].control for hook in state.webhooks]

    def _render_secret(self, state: NotificationsState) -> None:
        new = state.new_secret
        self.secret.visible = new is not None
        if new is None:
            return
        self.secret.content = ft.Semantics(
            identifier="webhook-secret",
            content=card(
                ft.Column(
                    [
                        ft.Text(
                            f"Signing secret for {new.url}: shown this once, keep it on the receiver.",
                            weight=ft.FontWeight.W_600,
                        ),
                        ft.Semantics(
                            identifier="webhook-secret-value", content=ft.Text(new.secret, font_family="monospace")
                        ),
                        ft.TextButton("I have saved it", on_click=lambda _: self.notifications.secret_shown()),
                    ],
                    spacing=8,
                )
            ),
        )

    async def _add(self, _: ft.Event[ft.Button]) -> None:
        chosen = [name for name, box in self.events.items() if box.value]
        if await self.notifications.add(self.url.value or "", chosen):
            self.url.value = ""


class HookCard:
    """One webhook: its URL and events, its buttons, and its recent deliveries."""

    def __init__(self, hook: Webhook, notifications: Notifications) -> None:
        self.deliveries = ft.Column(spacing=6)
        self._shown: tuple[tuple[str, str, int], ...] | None = None
        test = ft.OutlinedButton("Send test", icon=ft.Icons.SEND, on_click=later(notifications.ping, hook))
        delete = ft.IconButton(
            ft.Icons.DELETE_OUTLINE, tooltip="Delete webhook", on_click=later(notifications.delete, hook)
        )
        heading = ft.Row(
            [
                ft.Column(
                    [ft.Text(hook.url, weight=ft.FontWeight.W_600), muted(", ".join(hook.events))],
                    spacing=2,
                    expand=True,
                ),
                ft.Semantics(identifier=f"test-{hook.id}", content=test),
                delete,
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )
        self.control = ft.Container(
            ft.Column([heading, self.deliveries], spacing=6),
            padding=12,
            border_radius=8,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        )

    def render(self, deliveries: list[WebhookDelivery]) -> None:
        """Show these deliveries (rebuilt only when one changed)."""
        shown = tuple((item.id, item.state, len(item.attempts)) for item in deliveries)
        if shown == self._shown:
            return
        self._shown = shown
        if not deliveries:
            self.deliveries.controls = [muted("No deliveries yet.")]
            return
        self.deliveries.controls = [
            ft.Semantics(
                identifier=f"delivery-{delivery.state}-{delivery.id}",
                content=ft.Row(
                    [
                        pill(delivery.state, DELIVERY_COLORS.get(delivery.state, IDLE_COLOR)),
                        ft.Text(delivery.event, size=13, weight=ft.FontWeight.W_500),
                        muted(attempt_summary(delivery), size=13),
                    ],
                    spacing=10,
                    wrap=True,
                ),
            )
            for delivery in deliveries
        ]

"""A Content-Security-Policy for the dashboard's pages: nothing is loaded from, or sent to, another host.

Flet's prebuilt web client tries one request to a CDN even when served with `no_cdn` (the Rive
animation runtime, whose address is hard-coded in `main.dart.js`), and Flutter fetches fallback
fonts from fonts.gstatic.com for glyphs its bundled fonts lack. With this policy the browser
refuses both before they reach the network: the page stays on this machine, as docs/dashboard.md
promises. Each directive below is what the client was seen to need in headless Chromium
(tests/ui/test_offline.py): its own scripts, the three inline configuration scripts of Flet's
index.html (allowed by their hashes, computed from the page as served), WebAssembly compilation
for CanvasKit, blob: workers and images, and its websocket back to this server.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

# Everything but script-src, which gets the hashes of the page's inline scripts.
BASE_POLICY = (
    "default-src 'self'",
    "style-src 'self' 'unsafe-inline'",  # Flutter sets inline styles on the elements it creates
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",  # covers the page's own ws:// origin in Chromium and Firefox
    "worker-src 'self' blob:",
    "media-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def script_hashes(html: bytes) -> list[str]:
    """CSP source expressions ('sha256-...') for each inline <script> of an HTML page."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in INLINE_SCRIPT.findall(html)
    ]


def policy_for(html: bytes | None) -> str:
    """The policy for one response; an HTML page's inline scripts are allowed by their hashes."""
    scripts = ["'self'", "'wasm-unsafe-eval'", *(script_hashes(html) if html else [])]
    return "; ".join([*BASE_POLICY, "script-src " + " ".join(scripts)])


class ContentSecurityPolicy:
    """ASGI middleware adding the policy to every HTTP response (buffering HTML pages to hash their scripts)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        html_parts: list[bytes] = []

        async def send_with_policy(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message.get("status") == 304:
                # No body, no policy: the browser keeps the cached page's own policy (with its
                # script hashes); a hash-less one here would replace it and block the page's scripts.
                await send(message)
                return
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # held until the body is known
                    return
                message["headers"] = [*message.get("headers", []), csp_header(None)]
                await send(message)
                return
            if start is not None and message["type"] == "http.response.body":
                html_parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = b"".join(html_parts)
                start["headers"] = [*start.get("headers", []), csp_header(html)]
                await send(start)
                await send({"type": "http.response.body", "body": html})
                return
            await send(message)

        await self.app(scope, receive, send_with_policy)


def csp_header(html: bytes | None) -> tuple[bytes, bytes]:
    return b"content-security-policy", policy_for(html).encode()

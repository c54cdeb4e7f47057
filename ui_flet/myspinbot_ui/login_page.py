"""The login page: a small server-rendered form (no script, so the page's CSP needs no exception)."""

from __future__ import annotations

from html import escape

STYLE = """
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f9;color:#1b1b21}
main{background:#fff;border:1px solid #d9dae3;border-radius:14px;padding:32px 36px;width:340px;
box-shadow:0 4px 18px rgba(30,30,60,.08)}
h1{font-size:22px;margin:0 0 4px}p.lead{margin:0 0 22px;color:#555a6b;font-size:14px}
label{display:block;font-size:13px;font-weight:600;margin:14px 0 6px}
input{box-sizing:border-box;width:100%;padding:10px 12px;font-size:15px;border:1px solid #b9bccb;border-radius:8px}
input:focus{outline:2px solid #4456b6;border-color:#4456b6}
button{margin-top:22px;width:100%;padding:11px;font-size:15px;font-weight:600;border:0;border-radius:8px;
background:#3f51b5;color:#fff;cursor:pointer}
.message{padding:10px 12px;border-radius:8px;font-size:14px;margin:0 0 6px}
.error{background:#fde7e9;color:#8c1d2a}.info{background:#e7eefc;color:#1d3a8c}
footer{margin-top:18px;font-size:12px;color:#6b6f80}
"""


def login_html(*, next_path: str, username: str = "", error: str | None = None, info: str | None = None) -> str:
    """The page: an error or note (if any), then user name and password; posts to /login."""
    notes = ""
    if error:
        notes += f'<p class="message error" role="alert" id="login-error">{escape(error)}</p>'
    if info:
        notes += f'<p class="message info" role="status" id="login-info">{escape(info)}</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Sign in · MySpinBot</title><style>{STYLE}</style></head>
<body><main>
<h1>MySpinBot</h1><p class="lead">Sign in to submit and watch jobs.</p>
{notes}
<form method="post" action="/login" autocomplete="on">
<input type="hidden" name="next" value="{escape(next_path)}">
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="{escape(username)}"
 autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit" id="sign-in">Sign in</button>
</form>
<footer>Ask an admin for an account. Sessions end after the API's session lifetime, or when you log out.</footer>
</main></body></html>"""

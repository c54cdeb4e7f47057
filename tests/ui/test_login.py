"""The dashboard's login over HTTP, against a real API (auth on), worker and Redis, and the real
dashboard process: what is refused without a login, the cookie's attributes, a member's view of
another's job, logout (a replayed cookie is dead), rejected logins, CSRF, and the access log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from myspinbot_client import MySpinBotClient
from myspinbot_ui.sessions import COOKIE_NAME
from tests.support.processes import LiveStack
from tests.ui.browser import poll
from tests.ui.conftest import ALICE, API_TOKEN, BOB, Account, RunningDashboard, job_of, live_ui_stack

pytestmark = pytest.mark.slow

MAX_FAILURES = 4


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """The dashboard stack with a small failure budget, so a wrong-password storm ends in 429 quickly."""
    yield from live_ui_stack(
        tmp_path_factory,
        "ui-login-stack",
        MYSPINBOT_AUTH_MAX_FAILURES=str(MAX_FAILURES),
        MYSPINBOT_AUTH_SLOW_AFTER="10",
        MYSPINBOT_SESSION_HOURS="2",
    )


def log_in(url: str, account: Account, *, origin: str | None = None, **headers: str) -> httpx.Response:
    """POST the login form as a browser on the dashboard's page would (Origin: the page's own)."""
    form = {"username": account.name, "password": account.password, "next": "/"}
    return httpx.post(f"{url}/login", data=form, headers={"origin": origin or url, **headers})


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws"


def test_nothing_but_the_login_page_answers_without_a_login(dashboard: str, ui_stack: LiveStack) -> None:
    """The page goes to /login, the web client's files and the artifact route are 401, the websocket is refused."""
    job = job_of(ui_stack, ALICE, "refused to strangers")
    page = httpx.get(dashboard + "/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login"
    deep = httpx.get(dashboard + f"/jobs/{job.id}", headers={"accept": "text/html"})
    assert deep.status_code == 303 and deep.headers["location"] == f"/login?next=/jobs/{job.id}"
    for path in ("/main.dart.js", "/flutter_bootstrap.js", f"/artifacts/{job.id}/preview.webp", "/upload"):
        answer = httpx.get(dashboard + path)
        assert answer.status_code == 401, (path, answer.status_code)
        assert answer.json()["error"]["code"] == "unauthorized"
        assert b"RIFF" not in answer.content
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(dashboard), origin=dashboard, open_timeout=10).close()  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    form = httpx.get(dashboard + "/login")
    assert form.status_code == 200 and 'name="password"' in form.text and "<script" not in form.text
    assert "script-src" in form.headers["content-security-policy"]
    # A forged cookie is no login, and the login page drops it.
    forged = httpx.get(dashboard + "/", headers={"accept": "text/html", "cookie": f"{COOKIE_NAME}=abc.def"})
    assert forged.status_code == 303
    dropped = httpx.get(dashboard + "/login", headers={"cookie": f"{COOKIE_NAME}=abc.def"})
    assert f'{COOKIE_NAME}=""' in dropped.headers["set-cookie"] or "Max-Age=0" in dropped.headers["set-cookie"]


def test_a_login_sets_a_safe_cookie_and_acts_with_the_members_rights(dashboard: str, ui_stack: LiveStack) -> None:
    """HttpOnly, SameSite=Lax, Max-Age = the session's life, Secure behind TLS; A's artifact comes, B's is 404."""
    mine = job_of(ui_stack, ALICE, "alice's own")
    theirs = job_of(ui_stack, BOB, "bob's, not alice's")
    answer = log_in(dashboard, ALICE)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert re.search(r"HttpOnly", cookie, re.I) and re.search(r"SameSite=lax", cookie, re.I), cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert 2 * 3600 - 120 <= max_age <= 2 * 3600, max_age
    assert "secure" not in cookie.lower()  # plain http from 127.0.0.1
    # Behind a TLS proxy the dashboard trusts (127.0.0.1 by default: uvicorn's FORWARDED_ALLOW_IPS).
    tls_origin = dashboard.replace("http://", "https://")
    behind_tls = log_in(dashboard, ALICE, origin=tls_origin, **{"x-forwarded-proto": "https"})
    assert "secure" in behind_tls.headers["set-cookie"].lower()
    # The page's origin is the proxy's https one: the plain-http origin no longer matches it.
    assert log_in(dashboard, ALICE, **{"x-forwarded-proto": "https"}).status_code == 403
    session = answer.cookies[COOKIE_NAME]
    jar = {COOKIE_NAME: session}
    assert httpx.get(dashboard + "/", cookies=jar, headers={"accept": "text/html"}).status_code == 200
    own = httpx.get(dashboard + f"/artifacts/{mine.id}/preview.webp", cookies=jar)
    assert own.status_code == 200 and own.content[:4] == b"RIFF"
    other = httpx.get(dashboard + f"/artifacts/{theirs.id}/preview.webp", cookies=jar)
    assert other.status_code == 404 and b"RIFF" not in other.content
    with connect(ws_url(dashboard), origin=dashboard, additional_headers={"cookie": f"{COOKIE_NAME}={session}"}):  # type: ignore[arg-type]
        pass  # accepted: Flet's own protocol follows
    # The cookie does not open a websocket from another origin (a sibling host of the same site).
    with pytest.raises(InvalidStatus):
        connect(
            ws_url(dashboard),
            origin="http://evil.example",  # type: ignore[arg-type]
            additional_headers={"cookie": f"{COOKIE_NAME}={session}"},
            open_timeout=10,
        ).close()


def test_logout_ends_the_session_and_a_replayed_cookie_is_dead(dashboard: str, ui_stack: LiveStack) -> None:
    """POST /logout revokes the session key at the API and clears the cookie; the old cookie opens nothing."""
    job = job_of(ui_stack, ALICE, "before logout")
    answer = log_in(dashboard, ALICE)
    jar = {COOKIE_NAME: answer.cookies[COOKIE_NAME]}
    assert httpx.get(dashboard + f"/artifacts/{job.id}/preview.webp", cookies=jar).status_code == 200
    with MySpinBotClient(ui_stack.api_url, API_TOKEN) as admin:
        sessions_before = [key for key in admin_keys(admin, ALICE.name) if key["kind"] == "session"]
    foreign = httpx.post(dashboard + "/logout", cookies=jar, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403  # CSRF: another site cannot log you out either
    out = httpx.post(dashboard + "/logout", cookies=jar, headers={"origin": dashboard})
    assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
    assert "Max-Age=0" in out.headers["set-cookie"] or 'myspinbot_session=""' in out.headers["set-cookie"]
    replay = httpx.get(dashboard + f"/artifacts/{job.id}/preview.webp", cookies=jar)
    assert replay.status_code == 401
    assert httpx.get(dashboard + "/", cookies=jar, headers={"accept": "text/html"}).status_code == 303
    with pytest.raises(InvalidStatus):
        connect(
            ws_url(dashboard),
            origin=dashboard,  # type: ignore[arg-type]
            additional_headers={"cookie": f"{COOKIE_NAME}={jar[COOKIE_NAME]}"},
            open_timeout=10,
        ).close()
    with MySpinBotClient(ui_stack.api_url, API_TOKEN) as admin:
        sessions_after = [key for key in admin_keys(admin, ALICE.name) if key["kind"] == "session"]
    assert len(sessions_after) == len(sessions_before) - 1  # its key is revoked at the API
    signed_out = httpx.get(dashboard + "/login?signed_out=1")
    assert "You are signed out." in signed_out.text


def admin_keys(admin: MySpinBotClient, user: str) -> list[dict[str, object]]:
    """A user's live keys, as the bootstrap admin reads them."""
    answer = admin._http.get("/api/keys", params={"user": user})
    assert answer.is_success, answer.text
    return list(answer.json())


def test_rejected_logins_say_why_and_a_storm_gets_too_many_attempts(dashboard: str) -> None:
    """Wrong password: 401 and a clear line; empty fields: 400; from another origin: 403; then 429 with the wait."""
    empty = httpx.post(dashboard + "/login", data={"username": "", "password": ""}, headers={"origin": dashboard})
    assert empty.status_code == 400 and "Enter your user name and your password." in empty.text
    csrf = httpx.post(
        dashboard + "/login",
        data={"username": BOB.name, "password": BOB.password},
        headers={"origin": "http://evil.example"},
    )
    assert csrf.status_code == 403 and COOKIE_NAME not in csrf.headers.get("set-cookie", "")
    victim = Account(BOB.name, BOB.role, password="not the password")
    # The storm comes from one browser (its address through a proxy the dashboard trusts).
    storm = {"x-forwarded-for": "203.0.113.7"}
    first = log_in(dashboard, victim, **storm)
    assert first.status_code == 401 and "Wrong user name or password." in first.text
    assert COOKIE_NAME not in first.headers.get("set-cookie", "")
    assert 'value="bob"' in first.text and victim.password not in first.text  # the name is kept, never the password
    statuses = [log_in(dashboard, victim, **storm).status_code for _ in range(MAX_FAILURES + 1)]
    assert statuses[-1] == 429, statuses
    throttled = log_in(dashboard, BOB, **storm)  # even the right password, while the storm's window lasts
    assert throttled.status_code == 429
    found = re.search(r"Too many attempts, try again in (\d+) s\.", throttled.text)
    assert found and int(found.group(1)) > 0, throttled.text
    assert throttled.headers["retry-after"] == found.group(1)
    # The dashboard passes each browser's address on: another browser still logs in.
    assert log_in(dashboard, ALICE, **{"x-forwarded-for": "198.51.100.9"}).status_code == 303
    counts = httpx.get(dashboard + "/healthz").json()["logins"]
    assert counts["refused"] >= 2 and counts["throttled"] >= 1


def test_the_dashboard_access_log_holds_no_secret(dashboard_process: RunningDashboard, ui_stack: LiveStack) -> None:
    """Logins, a cookie in use and a logout are in uvicorn's access log by method and path, with no
    password, cookie or session key in it."""
    url = dashboard_process.url
    answer = log_in(url, ALICE)
    cookie = answer.cookies[COOKIE_NAME]
    httpx.get(url + "/?probe=1", cookies={COOKIE_NAME: cookie}, headers={"accept": "text/html"})
    httpx.post(url + "/logout", cookies={COOKIE_NAME: cookie}, headers={"origin": url})
    log_path = dashboard_process.process.log_path
    poll(lambda: "POST /logout" in log_path.read_text(errors="replace"), 30, "the logout in the access log")
    log = log_path.read_text(errors="replace")
    assert '"POST /login HTTP/1.1" 303' in log and "GET /?probe=1" in log
    for secret in (ALICE.password, cookie, cookie.split(".")[0], API_TOKEN):
        assert secret not in log
    assert "msb_" not in log  # no API key of any kind (they start with msb_)


def test_an_expired_cookie_signature_is_never_accepted_across_processes() -> None:
    """Cookies are signed with the process's secret: another secret's cookie is refused (pure signing logic)."""
    from myspinbot_ui.sessions import CookieSigner

    ours, theirs = CookieSigner("a" * 40), CookieSigner("b" * 40)
    signed = ours.sign("session-id")
    assert ours.unsign(signed) == "session-id"
    assert theirs.unsign(signed) is None and ours.unsign(signed + "x") is None and ours.unsign(None) is None


async def test_the_session_table_forgets_expired_logins() -> None:
    """An expired login is gone on the next look, and its pages are told (pure table logic, no API call)."""
    from datetime import UTC, datetime, timedelta

    from myspinbot_client import AsyncMySpinBotClient
    from myspinbot_client.identity import LoginSession, Me, Role
    from myspinbot_ui.sessions import SessionTable

    table = SessionTable("http://127.0.0.1:9", client_factory=lambda url, key: AsyncMySpinBotClient(url, key))
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    login = table.add(
        LoginSession(key="k", key_id="i", expires_at=soon, user=Me(name="x", role=Role.MEMBER, via="session"))
    )
    ended: list[bool] = []
    login.on_end(lambda: ended.append(True))
    assert await table.get(login.session_id) is login and 0 < login.seconds_left() <= 30
    assert await table.get(login.session_id, now=datetime.now(UTC) + timedelta(minutes=1)) is None
    assert ended == [True] and len(table) == 0

"""Two members and a viewer through the real API and the real WS: each member sees only its own jobs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.identity.support import People, Person
from tests.support.jobs import FINISHED
from tests.support.processes import ServiceProcess

LONG_JOB = {"steps": 400, "step_seconds": 0.05}


def submit(api: TestClient, person: Person, job_type: str = "writer", params: Any = None) -> str:
    """Submit a job as `person`; its id."""
    response = api.post(f"/api/jobs/{job_type}", json=params or {"text": person.name}, headers=person.headers)
    assert response.status_code == 202, response.text
    assert response.json()["owner"] == person.name
    return str(response.json()["id"])


def frames_until_finished(ws: WebSocketTestSession, job_id: str) -> list[dict[str, Any]]:
    """Every frame the socket receives until `job_id` finishes."""
    frames = []
    while True:
        frame = ws.receive_json()
        frames.append(frame)
        if frame["type"] == "event" and frame["job"]["id"] == job_id and frame["job"]["state"] in FINISHED:
            return frames


def jobs_in(frames: list[dict[str, Any]]) -> set[str]:
    """Ids of every job in event and snapshot frames."""
    ids = {frame["job"]["id"] for frame in frames if frame["type"] == "event"}
    for frame in frames:
        if frame["type"] in ("snapshot", "queue"):
            ids |= {job["id"] for job in frame["jobs"]}
    return ids


def next_frame(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    """The next frame of this type (queue frames come and go in between)."""
    while True:
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == kind:
            return frame


def test_members_list_only_their_own_jobs_viewers_and_admins_all(
    api: TestClient, people: People, worker: ServiceProcess
) -> None:
    """GET /api/jobs: alice sees hers, bob his; the viewer and the admin see both."""
    alices, bobs = submit(api, people.alice), submit(api, people.bob)

    def listed(person: Person) -> set[str]:
        response = api.get("/api/jobs", params={"limit": 200}, headers=person.headers)
        assert response.status_code == 200
        return {job["id"] for job in response.json()["jobs"]}

    assert alices in listed(people.alice) and bobs not in listed(people.alice)
    assert bobs in listed(people.bob) and alices not in listed(people.bob)
    assert {alices, bobs} <= listed(people.viewer)
    assert {alices, bobs} <= listed(people.admin)
    owners = {job["owner"] for job in api.get("/api/jobs", headers=people.alice.headers).json()["jobs"]}
    assert owners == {people.alice.name}


def test_viewer_cancels_neither_members_job_the_admin_cancels_both(
    api: TestClient, people: People, worker: ServiceProcess
) -> None:
    """A viewer's cancel is 403, another member's is 404 and changes nothing; the admin's cancels both."""
    alices = submit(api, people.alice, "sleepy", LONG_JOB)
    bobs = submit(api, people.bob, "sleepy", LONG_JOB)
    for job_id in (alices, bobs):
        assert api.post(f"/api/jobs/{job_id}/cancel", headers=people.viewer.headers).status_code == 403
    assert api.post(f"/api/jobs/{alices}/cancel", headers=people.bob.headers).status_code == 404
    assert api.post(f"/api/jobs/{bobs}/cancel", headers=people.alice.headers).status_code == 404
    for job_id in (alices, bobs):
        state = api.get(f"/api/jobs/{job_id}", headers=people.admin.headers).json()["state"]
        assert state in ("queued", "running")
    for job_id in (alices, bobs):
        cancelled = api.post(f"/api/jobs/{job_id}/cancel", headers=people.admin.headers)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "cancelled" or cancelled.json()["message"] == "cancelling"


def test_the_ws_sends_a_member_only_its_own_jobs_and_a_viewer_all(
    api: TestClient, people: People, worker: ServiceProcess
) -> None:
    """Live events, snapshots and replays: alice never receives bob's job, nor bob alice's; the viewer gets both."""
    with (
        api.websocket_connect("/ws", headers=people.alice.headers) as alice_ws,
        api.websocket_connect("/ws", headers=people.bob.headers) as bob_ws,
        api.websocket_connect("/ws", headers=people.viewer.headers) as viewer_ws,
    ):
        for ws in (alice_ws, bob_ws, viewer_ws):
            assert ws.receive_json()["type"] == "hello"
            next_frame(ws, "snapshot")
        bobs = submit(api, people.bob)
        bob_frames = frames_until_finished(bob_ws, bobs)
        alices = submit(api, people.alice)
        alice_frames = frames_until_finished(alice_ws, alices)
        viewer_frames = frames_until_finished(viewer_ws, alices)
        # Bob asks for alice's job by id: the subscription is answered with nothing of hers.
        bob_ws.send_json({"op": "subscribe", "jobs": [alices, bobs]})
        assert next_frame(bob_ws, "subscribed")["jobs"] == [bobs]
        snapshot = next_frame(bob_ws, "snapshot")
        assert {job["id"] for job in snapshot["jobs"]} == {bobs}
    assert alices in jobs_in(alice_frames) and bobs not in jobs_in(alice_frames)
    assert bobs in jobs_in(bob_frames) and alices not in jobs_in(bob_frames)
    assert {alices, bobs} <= jobs_in(viewer_frames)

    # A replay of everything still kept is filtered the same way.
    with api.websocket_connect(f"/ws?jobs={alices},{bobs}&last_event_id=0-0", headers=people.bob.headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        replayed = frames_until_finished(ws, bobs)
    assert alices not in jobs_in(replayed)
    assert {frame["job"]["owner"] for frame in replayed if frame["type"] == "event"} == {people.bob.name}


def test_another_members_job_and_artifact_are_404_like_missing_ones(
    api: TestClient, people: People, worker: ServiceProcess
) -> None:
    """Bob gets the same 404 for alice's job, her artifact and a job that never existed."""
    from tests.support.jobs import wait_state

    alices = submit(api, people.alice)
    api.headers.update(people.alice.headers)
    assert wait_state(api, alices)["state"] == "succeeded"
    api.headers.pop("Authorization")
    own = api.get(f"/api/jobs/{alices}/artifacts/out.txt", headers=people.alice.headers)
    assert own.status_code == 200 and own.text == people.alice.name
    missing = api.get("/api/jobs/0123456789abcdef0123456789abcdef", headers=people.bob.headers).json()
    hers = api.get(f"/api/jobs/{alices}", headers=people.bob.headers).json()
    assert hers["error"]["code"] == missing["error"]["code"] == "job_not_found"
    download = api.get(f"/api/jobs/{alices}/artifacts/out.txt", headers=people.bob.headers)
    assert download.status_code == 404 and "alice" not in download.text

"""The API speaks the client's wire models: every kernel route answers with one, every /ws frame parses as one."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel

from myspinbot_client import Job, JobState, Logs, Metrics, frames, models, telemetry
from myspinbot_client.frames import ErrorFrame, EventFrame, HelloFrame, PongFrame, parse_frame
from tests.support.jobs import FINISHED, wait_state
from tests.support.processes import ServiceProcess

# The kernel's own routers; plugins' routes (webhooks, /metrics) answer with their own models.
KERNEL_TAGS = {"jobs", "system", "telemetry"}
WIRE_MODULES = (models, frames, telemetry)


def wire_model(name: str) -> type[BaseModel] | None:
    """The client's wire model of this name, if there is one."""
    found = [getattr(module, name, None) for module in WIRE_MODULES]
    return next((item for item in found if isinstance(item, type) and issubclass(item, BaseModel)), None)


def referenced(response: dict[str, Any]) -> set[str]:
    """Component names a response's JSON schema refers to."""
    text = json.dumps(response.get("content", {}).get("application/json", {}))
    return set(re.findall(r"#/components/schemas/([A-Za-z]+)", text))


def test_every_kernel_route_answers_with_a_wire_model(client: TestClient) -> None:
    """Each model the kernel's routes document (2xx and error bodies) is a client wire model, field for field."""
    doc = client.get("/openapi.json").json()
    names: set[str] = set()
    for operations in doc["paths"].values():
        for operation in operations.values():
            if KERNEL_TAGS & set(operation.get("tags", [])):
                for response in operation["responses"].values():
                    names |= referenced(response)
    assert {"Job", "JobPage", "JobType", "Artifact", "Health", "Plugin", "Metrics", "Logs", "ErrorBody"} <= names
    for name in sorted(names):
        model = wire_model(name)
        assert model is not None, f"{name} is not a model of myspinbot_client"
        served = doc["components"]["schemas"][name]["properties"]
        assert set(served) == set(model.model_json_schema(mode="serialization")["properties"]), name


def test_ws_frames_and_http_bodies_parse_as_the_wire_models(client: TestClient, worker: ServiceProcess) -> None:
    """hello, snapshot, every event (hand-joined by the gateway), telemetry, pong and error frames, and the
    job, metrics and logs bodies all read back through the client's models, and the last event is the job."""
    job = client.post("/api/jobs/probe", json={"steps": 40, "progress_every": 10, "step_seconds": 0.05}).json()
    frames = []
    with client.websocket_connect(f"/ws?jobs={job['id']}") as ws:
        for _ in range(10_000):
            text = ws.receive_text()
            frames.append(text)
            parsed = parse_frame(text)
            if isinstance(parsed, EventFrame) and parsed.job.state in FINISHED:
                break
        ws.send_json({"op": "ping"})
        pong = parse_frame(ws.receive_text())
    kinds = [type(parse_frame(text)).__name__ for text in frames]
    assert kinds[0] == HelloFrame.__name__ and isinstance(pong, PongFrame)
    events = [frame for frame in map(parse_frame, frames) if isinstance(frame, EventFrame)]
    assert events and events[-1].event == "job.succeeded"
    live_telemetry = [event for event in map(telemetry.telemetry_of, map(json.loads, frames)) if event is not None]
    assert {event.kind for event in live_telemetry} >= {telemetry.TelemetryKind.METRIC}

    done = Job.model_validate(wait_state(client, job["id"]))
    assert done.state is JobState.SUCCEEDED and events[-1].job == done
    assert Metrics.model_validate(client.get(f"/api/jobs/{job['id']}/metrics").json()).get("psnr_db") is not None
    assert Logs.model_validate(client.get(f"/api/jobs/{job['id']}/logs").json()).lines

    with client.websocket_connect("/ws?last_event_id=not-an-id") as ws:
        refused = parse_frame(ws.receive_text())
    assert isinstance(refused, ErrorFrame) and refused.error.code == "invalid_params"

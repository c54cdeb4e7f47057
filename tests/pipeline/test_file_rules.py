"""One file-name rule on every side: no extensions means any file, and names compare case-insensitively.

The test job type `inputs` (tests/support/jobtypes.py) has a field with no extensions and one
declared as ".PNG". Each file name is put to the API (a real submission, run by the worker),
to the client (its `--file` assignment) and to the dashboard (its upload check), and all three
must give the same answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from myspinbot_client import InputError, JobState, JobType
from myspinbot_client.params import assign_files
from myspinbot_ui.forms import PickedFile, check_files, form_of
from tests.support.jobs import png_bytes, wait_state
from tests.support.processes import ServiceProcess

# (upload field, file name, accepted?)
CASES = [
    ("files", "notes.txt", True),  # no extensions: any file ...
    ("files", "RUN.LOG", True),
    ("files", "README", True),  # ... even one without an extension
    ("images", "IMG.PNG", True),  # declared ".PNG": every case of it matches
    ("images", "img.png", True),
    ("images", "Photo.Png", True),
    ("images", "notes.TXT", False),
    ("images", "IMG.PNG.txt", False),
]


@pytest.fixture
def inputs_type(client: TestClient) -> JobType:
    """The `inputs` job type as the API describes it (what the client and the dashboard read)."""
    listed = [JobType.model_validate(item) for item in client.get("/api/job-types").json()]
    return next(job_type for job_type in listed if job_type.name == "inputs")


def api_accepts(client: TestClient, field: str, path: Path) -> bool:
    """Submit the file; a 202 must run to the end with the file among the job's inputs, a refusal must be a 415."""
    with path.open("rb") as handle:
        response = client.post("/api/jobs/inputs", files=[(field, (path.name, handle))])
    if response.status_code != 202:
        assert response.status_code == 415, response.text
        assert response.json()["error"]["details"][0]["field"] == field
        return False
    done = wait_state(client, response.json()["id"])
    assert done["state"] == JobState.SUCCEEDED, done
    assert done["result"] == {"inputs": [path.name]}
    return True


def client_accepts(job_type: JobType, field: str, path: Path) -> bool:
    """The client's `--file FIELD=PATH` check."""
    try:
        assign_files(job_type, [f"{field}={path}"])
    except InputError:
        return False
    return True


def dashboard_accepts(job_type: JobType, field: str, path: Path) -> bool:
    """The dashboard form's check of a picked file."""
    upload = next(spec for spec in form_of(job_type).files if spec.field == field)
    return check_files(upload, [PickedFile(path.name, path.stat().st_size)]) is None


def test_the_wire_lists_extensions_in_lower_case(inputs_type: JobType) -> None:
    """A field declared with ".PNG" is listed as ".png"; one declared without extensions lists none."""
    assert {spec.field: spec.extensions for spec in inputs_type.files} == {"files": (), "images": (".png",)}


@pytest.mark.parametrize(("field", "name", "accepted"), CASES)
def test_api_client_and_dashboard_agree_on_a_file_name(
    client: TestClient,
    worker: ServiceProcess,
    inputs_type: JobType,
    tmp_path: Path,
    field: str,
    name: str,
    accepted: bool,
) -> None:
    """The API, the client and the dashboard accept or refuse the same file under the same field."""
    path = tmp_path / name
    path.write_bytes(png_bytes() if name.lower().endswith(".png") else b"plain text\n")
    answers = {
        "api": api_accepts(client, field, path),
        "client": client_accepts(inputs_type, field, path),
        "dashboard": dashboard_accepts(inputs_type, field, path),
    }
    assert answers == {"api": accepted, "client": accepted, "dashboard": accepted}

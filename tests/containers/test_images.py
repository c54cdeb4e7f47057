"""The project's images: built from docker/*.Dockerfile on an overridable base, reused only when
their inputs are unchanged, and running the API and worker as a non-root user that can write
its volume."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from pathlib import Path

from tests.containers.engine import REPO_ROOT
from tests.containers.images import INPUTS_LABEL, build, image_id, inputs_hash, project_images
from tests.containers.stack import ComposeStack

APP_CONTAINERS = (("api", 1), ("api", 2), ("worker", 1), ("worker-train", 1))


def test_dockerfiles_build_on_an_overridable_base_that_defaults_to_the_official_image() -> None:
    """Each Dockerfile declares `ARG PYTHON_IMAGE=python:3.11-slim` before its first FROM; every stage uses it."""
    for dockerfile in sorted((REPO_ROOT / "docker").glob("*.Dockerfile")):
        text = dockerfile.read_text()
        first_from = text.index("\nFROM ")
        assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text[:first_from], re.MULTILINE), dockerfile.name
        stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
        assert stages and all(stage == "${PYTHON_IMAGE}" for stage in stages), (dockerfile.name, stages)


def test_built_images_are_reused_only_while_their_inputs_are_unchanged(
    container_images: dict[str, bool], tmp_path: Path
) -> None:
    """A second build of an unchanged image is a no-op; any change of an input makes another hash."""
    spec = project_images()[0]
    assert image_id(spec.tag), container_images
    # Its build log goes to a temporary folder (it was written into the repository's root).
    assert build(spec, tmp_path) is False, "an unchanged image must be reused, not rebuilt"
    base_id = image_id(spec.build_args["PYTHON_IMAGE"]) or ""
    same = inputs_hash(spec, base_id)
    assert inputs_hash(replace(spec, build_args={"PYTHON_IMAGE": "python:3.11-slim"}), base_id) != same
    assert inputs_hash(spec, "another-base") != same


def test_api_and_worker_run_as_non_root(compose_stack: ComposeStack) -> None:
    """Every API and worker container runs its processes as the image's unprivileged `myspinbot` user."""
    for service, number in APP_CONTAINERS:
        assert compose_stack.container(service, number)["Config"]["User"] == "myspinbot", service
        # The user, and the owner of every process (the init of `init: true`, the app, its pool).
        # A process may exit between the glob and its stat (the engine's healthcheck execs are
        # short-lived): it has no owner left to check, so its vanished entry is skipped.
        script = 'id -u; id -un; for p in /proc/[0-9]*; do stat -c %u "$p" 2>/dev/null; done; true'
        uid, user, *owners = compose_stack.exec(service, "sh", "-c", script, number=number).split()
        assert uid != "0" and user == "myspinbot", (service, number, uid, user)
        assert set(owners) == {uid}, (service, number, owners)


def test_api_and_worker_write_their_shared_volume(compose_stack: ComposeStack) -> None:
    """Each app container writes into /data (the app-data volume) and reads what the one before it wrote."""
    run = uuid.uuid4().hex[:8]
    names = [f"/data/probe-{run}-{service}-{number}" for service, number in APP_CONTAINERS]
    try:
        for index, (service, number) in enumerate(APP_CONTAINERS):
            # Write this container's file and read the previous container's, in one exec.
            script = f"echo {names[index]} > {names[index]}" + (f" && cat {names[index - 1]}" if index else "")
            read = compose_stack.exec(service, "sh", "-c", script, number=number)
            if index:
                assert read.strip() == names[index - 1], (service, number)
        assert compose_stack.exec("api", "cat", *names).split() == names  # the first reads every one
    finally:
        owner = compose_stack.exec("api", "sh", "-c", f"rm -f {' '.join(names)}; stat -c %U /data").strip()
    assert owner == "myspinbot"


def test_images_carry_the_hash_of_their_inputs(compose_stack: ComposeStack) -> None:
    """The running app containers use the images built in this run, labelled with their inputs' hash."""
    for service, number in APP_CONTAINERS:
        labels = compose_stack.container(service, number)["Config"]["Labels"]
        assert re.fullmatch(r"[0-9a-f]{64}", labels.get(INPUTS_LABEL, "")), service

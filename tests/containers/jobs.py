"""Jobs the container tests submit through Traefik, and who ran them."""

from __future__ import annotations

from pathlib import Path

from myspinbot_client import Job, JobEvent, MySpinBotClient
from tests.containers.stack import ComposeStack
from tests.support.jobs import png_bytes

FINISHED = {"succeeded", "failed", "cancelled"}


def training_set(folder: Path, images: int = 2) -> list[Path]:
    """Real PNG images with captions, as a user uploads for a LoRA."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(images):
        image = folder / f"img{index}.png"
        image.write_bytes(png_bytes(color=(index * 90, 60, 40)))
        caption = folder / f"img{index}.txt"
        caption.write_text(f"a photo of sks dog, pose {index}")
        paths += [image, caption]
    return paths


def submit_train(api: MySpinBotClient, folder: Path, output_name: str = "sksdog") -> Job:
    """A small LoRA training job with uploaded images."""
    params = {"base_model": "stabilityai/sdxl-base-1.0", "network_dim": 4, "max_train_steps": 20}
    return api.submit("train", {**params, "output_name": output_name}, files=training_set(folder))


def submit_generate(api: MySpinBotClient, prompt: str = "a red fox in snow") -> Job:
    """A small video generation job."""
    return api.submit("generate", {"prompt": prompt, "num_frames": 9, "width": 256, "height": 160})


def job_events(events: list[JobEvent], job_id: str) -> list[JobEvent]:
    """The stream events (not snapshots) of one job, in the order received."""
    return [event for event in events if event.job.id == job_id and not event.is_snapshot]


def ran_on(stack: ComposeStack, job: Job) -> str:
    """The compose service whose container ran the job (its worker name carries the host name)."""
    worker = str(job.worker or "")
    host = worker.removeprefix("celery@").split("#", 1)[0]
    for container in stack.containers():
        if container["Config"]["Hostname"] == host:
            return str(container["Config"]["Labels"]["com.docker.compose.service"])
    raise AssertionError(f"no container of the stack has host name {host!r} (worker {worker!r})")

"""A test plugin that claims the job type 'train', which lora_train already declares."""

from __future__ import annotations

from pydantic import BaseModel

from myspinbot import JobContext, JobType, hookimpl


class Nothing(BaseModel):
    pass


def run(ctx: JobContext, params: Nothing) -> None:
    return None


@hookimpl
def register_job_types() -> list[JobType]:
    return [JobType(name="train", title="Another train", params=Nothing, run=run)]

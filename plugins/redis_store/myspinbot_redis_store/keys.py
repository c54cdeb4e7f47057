"""Names of every Redis key the store writes, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, so two deployments can share a Redis."""

    prefix: str = "myspinbot"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def cancel(self, job_id: str) -> str:
        return f"{self.prefix}:cancel:{job_id}"

    def idempotency(self, job_type: str, key: str) -> str:
        return f"{self.prefix}:idem:{job_type}:{key}"

    def lease(self, name: str) -> str:
        return f"{self.prefix}:lease:{name}"

    def by_state(self, state: str) -> str:
        return f"{self.prefix}:jobs:state:{state}"

    def by_type(self, job_type: str) -> str:
        return f"{self.prefix}:jobs:type:{job_type}"

    def recent_durations(self, job_type: str) -> str:
        return f"{self.prefix}:durations:{job_type}"

    def claim(self, name: str) -> str:
        return f"{self.prefix}:claim:{name}"

    def batch(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}"

    def batch_pending(self, batch_id: str) -> str:
        return f"{self.prefix}:batch:{batch_id}:pending"

    @property
    def all_jobs(self) -> str:
        return f"{self.prefix}:jobs:all"

    @property
    def sequence(self) -> str:
        return f"{self.prefix}:seq"

    @property
    def events(self) -> str:
        return f"{self.prefix}:events"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def worker_info(self) -> str:
        return f"{self.prefix}:workers:info"

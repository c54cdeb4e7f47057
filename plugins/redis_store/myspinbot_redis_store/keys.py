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

    def by_owner(self, owner: str) -> str:
        return f"{self.prefix}:jobs:owner:{owner}"

    def active_of(self, owner: str) -> str:
        """The set of an owner's queued and running jobs (for the per-user cap)."""
        return f"{self.prefix}:jobs:active:{owner}"

    # --- identity ---

    def user(self, name: str) -> str:
        return f"{self.prefix}:user:{name}"

    @property
    def users(self) -> str:
        return f"{self.prefix}:users"

    def key_record(self, key_id: str) -> str:
        return f"{self.prefix}:apikey:{key_id}"

    def key_digest(self, digest: str) -> str:
        return f"{self.prefix}:apikey-digest:{digest}"

    def user_keys(self, name: str) -> str:
        return f"{self.prefix}:user-keys:{name}"

    def auth_failures(self, scope: str) -> str:
        return f"{self.prefix}:authfail:{scope}"

    @property
    def revocations(self) -> str:
        """The pub/sub channel announcing revoked keys and users."""
        return f"{self.prefix}:revoked"

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

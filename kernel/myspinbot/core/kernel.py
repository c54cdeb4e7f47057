"""The kernel: settings, the plugin manager, the checked job-type registry and the job store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from myspinbot.core.auth import Authenticator
from myspinbot.core.jobtypes import JobType
from myspinbot.core.plugins import (
    PluginError,
    PluginInfo,
    call_each,
    list_plugins,
    make_plugin_manager,
)
from myspinbot.core.settings import Settings

if TYPE_CHECKING:
    from myspinbot.core.identity import IdentityStore
    from myspinbot.core.jobs import JobEvent
    from myspinbot.core.queueing import BrokerView
    from myspinbot.core.store import JobStore

log = logging.getLogger(__name__)


@dataclass
class LiveStats:
    """Per-process WebSocket figures for /metrics (summed across API replicas)."""

    clients: int = 0
    messages_sent: int = 0
    telemetry_frames_sent: int = 0  # coalesced job.metric/log/artifact/preview frames queued to clients
    telemetry_frames_skipped: int = 0  # not queued: the client's outbox was half full


class Kernel:
    """What every process (API, worker, CLI) builds first; plugins receive it in their hooks."""

    def __init__(self, settings: Settings, pm: pluggy.PluginManager | None = None) -> None:
        self.settings = settings
        self.pm = pm if pm is not None else make_plugin_manager(settings)
        self.job_types, self.job_type_owners = collect_job_types(self.pm, settings)
        self._store: JobStore | None = None
        self._identity: IdentityStore | None = None
        self._authenticator: Authenticator | None = None
        self.live_stats = LiveStats()
        # Set by the API (worker/broker_queues.py); None where nothing reads queues from the broker.
        self.broker: BrokerView | None = None

    @property
    def store(self) -> JobStore:
        """The job store of this process (the API's), made on first use."""
        if self._store is None:
            self._store = self.new_store()
        return self._store

    def new_store(self) -> JobStore:
        """A new job store from the `job_store` hook, for a thread with its own event loop
        (each worker thread, the heartbeat) since async connections belong to one loop."""
        store: JobStore | None = self.pm.hook.job_store(settings=self.settings)
        if store is None:
            raise PluginError(
                "no plugin provides a job store: install myspinbot-redis-store "
                "(pip install plugins/redis_store) or check MYSPINBOT_DISABLE_PLUGINS"
            )
        return store

    def new_blocking_store(self) -> JobStore | None:
        """A new blocking twin of this process's job store (the `blocking_job_store` hook), for one
        worker thread that drives its calls with `run_blocking`; None when its plugin has none."""
        store: JobStore | None = self.pm.hook.blocking_job_store(settings=self.settings, store=self.store)
        return store

    @property
    def identity(self) -> IdentityStore:
        """The identity store of this process (users, keys), made on first use."""
        if self._identity is None:
            identity: IdentityStore | None = self.pm.hook.identity_store(settings=self.settings)
            if identity is None:
                raise PluginError(
                    "no plugin provides an identity store: install myspinbot-redis-store "
                    "(pip install plugins/redis_store) or check MYSPINBOT_DISABLE_PLUGINS"
                )
            self._identity = identity
        return self._identity

    @property
    def authenticator(self) -> Authenticator:
        """Who callers are: the `authenticate` hook with its failure limits."""
        if self._authenticator is None:
            self._authenticator = Authenticator(self)
        return self._authenticator

    async def close_identity(self) -> None:
        """Close the identity store, if one was made."""
        if self._identity is not None:
            await self._identity.close()
            self._identity = None

    def plugins(self) -> list[PluginInfo]:
        """The loaded plugins, their distributions and hooks."""
        return list_plugins(self.pm)

    def queues(self) -> list[str]:
        """Every job type's Celery queue, without repeats."""
        return sorted({job_type.queue for job_type in self.job_types.values()})

    def notify(self, event: JobEvent) -> None:
        """Tell observers about an event; an observer's failure never breaks the job."""
        try:
            self.pm.hook.job_event(event=event, kernel=self)
        except Exception:
            log.exception("a job_event hook failed for %s", event.event)
        if event.batch_finished and event.job.batch_id:
            log.info("batch %s finished (last job %s)", event.job.batch_id, event.job.id)
            try:
                self.pm.hook.batch_finished(batch_id=event.job.batch_id, last_job=event.job, kernel=self)
            except Exception:
                log.exception("a batch_finished hook failed for %s", event.job.batch_id)


def collect_job_types(pm: pluggy.PluginManager, settings: Settings) -> tuple[dict[str, JobType], dict[str, str]]:
    """Every declared job type by name, checked for clashes of names and route aliases."""
    job_types: dict[str, JobType] = {}
    owners: dict[str, str] = {}
    route_owners: dict[str, tuple[str, str]] = {}
    for plugin, declared in call_each(pm, "register_job_types", settings=settings):
        for job_type in declared or []:
            if not isinstance(job_type, JobType):
                raise PluginError(f"plugin {plugin!r} returned {job_type!r} from register_job_types, not a JobType")
            if job_type.name in job_types:
                raise PluginError(
                    f"job type {job_type.name!r} is registered by two plugins: "
                    f"{owners[job_type.name]!r} and {plugin!r}; disable one with MYSPINBOT_DISABLE_PLUGINS"
                )
            if job_type.route:
                if job_type.route in route_owners:
                    other_plugin, other_type = route_owners[job_type.route]
                    raise PluginError(
                        f"route {job_type.route!r} is claimed by plugin {other_plugin!r} (job type "
                        f"{other_type!r}) and plugin {plugin!r} (job type {job_type.name!r})"
                    )
                route_owners[job_type.route] = (plugin, job_type.name)
            job_types[job_type.name] = job_type
            owners[job_type.name] = plugin
    return job_types, owners

"""The core: hookspecs, the plugin manager, settings, the job model, its lifecycle and the store contract.

Nothing here knows HTTP, Celery or a terminal; the api, worker and cli packages build on it.
"""

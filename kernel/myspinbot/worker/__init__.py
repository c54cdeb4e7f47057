"""The worker side: the Celery app (one task per job type), the job runner, the maintenance pass
and the one module that knows Celery's and kombu's wire format (`wire`)."""

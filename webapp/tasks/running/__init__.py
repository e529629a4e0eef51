"""The Celery side around a task: publishing, later and periodic runs, queues, workers."""

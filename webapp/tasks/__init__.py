"""The tasks app: task records, the Celery task bodies, and the dashboard views."""

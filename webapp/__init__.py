"""The task dashboard's Django project; importing it loads the Celery app."""

from webapp.celery import app as celery_app

__all__ = ["celery_app"]

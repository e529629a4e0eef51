"""Unit tests render templates without collectstatic, so use plain static storage."""

import pytest
from pytest_django import Settings


@pytest.fixture(autouse=True)
def plain_static_storage(settings: Settings) -> None:
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }

"""Unit tests run without services: plain static storage, an empty root, a local cache."""

from pathlib import Path

import pytest
from pytest_django import Settings


@pytest.fixture(autouse=True)
def plain_static_storage(settings: Settings, tmp_path: Path) -> None:
    settings.STATIC_ROOT = tmp_path
    # No Redis here: the cache is this process's memory. As roomy as Redis, which
    # evicts nothing: LocMemCache's default of 300 entries culls a third of them when
    # full, and a test writing hundreds of markers lost them, and its sweep's place.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    }
    settings.STORAGES = settings.STORAGES | {
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    }

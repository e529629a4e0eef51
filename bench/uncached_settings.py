"""The benchmark's settings with the cache off: every changed poll renders afresh.

A second gunicorn runs with these so that the report can show what the first
render of a new table version costs, next to the cached answer every other
dashboard gets.
"""

from bench.settings import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

"""The production settings plus the benchmark's two baselines (`bench.floor`).

The server under test runs exactly `webapp.settings`; this module only adds a URL
for the trivial floor view, and has the Celery worker import the trivial
`bench.ping` task. Nothing in `webapp/` knows about either.
"""

from webapp.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The worker imports the module that defines `bench.ping`.
CELERY_IMPORTS = ["bench.floor"]
# wrk launches thousands of tasks from one address: measure the app, not the limiter.
SUBMIT_RATE_LIMIT = "off"

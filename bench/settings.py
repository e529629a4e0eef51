"""The production settings plus the benchmark's baselines (`bench.floor`, `bench.seed`).

The server under test runs exactly `webapp.settings`; this module only adds URLs
for the trivial floor view and the seed app's two views, and has the Celery worker
import the trivial `bench.ping` task and the seed's `bench.seed.create_task`.
Nothing in `webapp/` knows about any of them.
"""

from webapp.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The worker imports the modules that define `bench.ping` and the seed's task.
CELERY_IMPORTS = ["bench.floor", "bench.seed"]
# wrk launches thousands of tasks from one address: measure the app, not the limiter.
SUBMIT_RATE_LIMIT = "off"

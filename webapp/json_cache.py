"""JSON instead of pickle for what the web processes keep in the shared Redis cache.

Django's RedisCache pickles values by default, and unpickling runs whatever code the
bytes name: anyone who can write to Redis (a shared instance, a leaked password)
could run code in every web process. JSON can only ever become data. An entry that
is not JSON reads as an error, which the cache's callers treat as a miss.
"""

import json
from typing import Any


class JsonSerializer:
    """Drop-in for django.core.cache.backends.redis.RedisSerializer."""

    def dumps(self, obj: Any) -> bytes | int:
        # Integers stay bare, as Django's serializer leaves them, so Redis INCR works
        # on them (the rate limits count with cache.incr).
        if type(obj) is int:
            return obj
        return json.dumps(obj, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        try:
            return int(data)
        except ValueError:
            return json.loads(data)

"""The shared Redis cache of the web processes: JSON entries instead of pickles, and
one Redis client per process instead of one per call.

Django's RedisCache pickles values by default, and unpickling runs whatever code the
bytes name: anyone who can write to Redis (a shared instance, a leaked password)
could run code in every web process. JSON can only ever become data. An entry that
is not JSON reads as an error, which the cache's callers treat as a miss.

Django also builds a new `redis.Redis` for every cache call. With redis-py 8 that
object sets up several hundred response callbacks, which costs about as much as the
round trip to Redis itself (0.3 ms a call, two or three calls a table poll). A client
is only a front for its connection pool and safe to share between threads, so each
pool gets one, made on first use.
"""

import json
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, reusing one redis.Redis per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Both attributes are Django's own, left out of django-stubs.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            # (Two threads may both build one the first time; either will do.)
            client = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            self._clients[id(pool)] = client
        return client


class SharedClientRedisCache(RedisCache):
    """The cache backend named in settings.CACHES."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

"""The Redis cache as an optimisation, never a dependency: while Redis is unreachable every read is a
miss and every write is dropped, so pages render from the database instead of failing.

Everything the portal keeps in the cache can be rebuilt (whole public pages, dashboard scopes, the
state of a PDF render); the source of truth is PostgreSQL. Without this, Django's RedisCache raises
ConnectionError from inside a view and a Redis restart takes the public site down with it
(docs/reliability.md). Failures are logged, at most once every LOG_EVERY seconds per process.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
LOG_EVERY = 30.0


class _Outage:
    """Counts failed cache calls and logs a summary now and then (an outage is thousands of them)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failed = 0
        self.logged_at = 0.0

    def record(self, operation: str, exc: BaseException) -> None:
        with self.lock:
            self.failed += 1
            now = time.monotonic()
            if now - self.logged_at < LOG_EVERY:
                return
            count, self.failed, self.logged_at = self.failed, 0, now
        logger.warning("Redis cache unavailable (%s: %s); %d cache calls served without it", operation, exc, count)


outage = _Outage()


def _tolerant(operation: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    method = getattr(RedisCacheClient, operation)

    def call(self: RedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UNAVAILABLE as exc:
            outage.record(operation, exc)
            return fallback(*args, **kwargs)

    call.__name__ = operation
    return call


class ResilientRedisCacheClient(RedisCacheClient):
    # What each call answers while Redis is away: a miss, or "nothing was stored".
    get = _tolerant("get", lambda key, default: default)
    get_many = _tolerant("get_many", lambda keys: {})
    has_key = _tolerant("has_key", lambda key: False)
    add = _tolerant("add", lambda key, value, timeout: False)
    set = _tolerant("set", lambda key, value, timeout: None)
    set_many = _tolerant("set_many", lambda data, timeout: [])
    touch = _tolerant("touch", lambda key, timeout: False)
    delete = _tolerant("delete", lambda key: False)
    delete_many = _tolerant("delete_many", lambda keys: None)
    clear = _tolerant("clear", lambda: False)

    def incr(self, key: Any, delta: int) -> int:
        try:
            return super().incr(key, delta)
        except UNAVAILABLE as exc:
            outage.record("incr", exc)
            # Like a missing key: callers that count (page-cache versions) start again from scratch.
            raise ValueError(f"Key {key!r} not found (Redis unavailable)") from exc


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient

"""Whole-page caching of public pages for anonymous visitors.

Public pages are the same for every citizen and are read far more often than they change, so an
anonymous GET is served from the cache. Every cached page's key includes a content version;
`bump()` (called when a notice, its entries or a studio change) moves to a new version so nobody
sees a stale list after a change. With Redis (production) the version is shared by all processes;
without it (development) each process has its own cache and TIMEOUT bounds any staleness.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

VERSION_KEY = "public-pages:version"
TIMEOUT = 60


def version() -> int:
    current = cache.get(VERSION_KEY)
    if current is None:
        cache.add(VERSION_KEY, 1, None)
        current = cache.get(VERSION_KEY, 1)
    return int(current)


def bump(*args: Any, **kwargs: Any) -> None:
    """Invalidate every cached public page (usable as a signal receiver)."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, None)


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = getattr(request, "user", None)
        if request.method != "GET" or (user is not None and user.is_authenticated):
            return view(request, *args, **kwargs)
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"public-pages:{version()}:{digest}"
        cached = cache.get(key)
        if cached is not None:
            return cached
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response.render()
        messages = getattr(request, "_messages", None)
        personal = (
            bool(response.cookies)
            or bool(request.META.get("CSRF_COOKIE_NEEDS_UPDATE"))  # the page carries a CSRF token: never share it
            or (messages is not None and messages.used)  # a flash message meant for this visitor
        )
        if response.status_code == 200 and not personal and not getattr(response, "streaming", False):
            cache.set(key, response, TIMEOUT)
        return response

    return wrapper

"""Looking up the policy in force: ``get_policy(city_code, on)``.

Versions live in ``PolicyVersion`` rows written by ``manage.py loadpolicies``; a file on disk
only matters once loaded, so every process sees the same rules.  Parsing and validating a file
takes a few milliseconds, so parsed policies are cached per process, keyed by the row's primary
key *and* its sha256: a version loaded after the process started is found by the next query,
and a row can never be served from a stale parse.
"""
from __future__ import annotations

import threading
from datetime import date
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from portal.policies.errors import PolicyNotFound
from portal.policies.schema import Policy, policy_from_data

if TYPE_CHECKING:
    from portal.models.policy import PolicyVersion

_cache: dict[tuple[int, str], Policy] = {}
# (city, version) → policy. loadpolicies refuses new content under an existing version number, so a
# version's rules never change once stored: asking for one again needs no query at all.
_by_version: dict[tuple[str, str], Policy] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget parsed policies (tests; never needed in production, see the module docstring)."""
    with _lock:
        _cache.clear()
        _by_version.clear()


def policy_for_version(row: PolicyVersion) -> Policy:
    """The parsed policy of one stored version (cached)."""
    key = (row.pk, row.sha256)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    policy = policy_from_data(row.data, source_name=row.source_name, sha256=row.sha256)
    with _lock:
        _cache[key] = policy
    return policy


def version_in_force(city_code: str, on: date | None = None) -> PolicyVersion:
    """The ``PolicyVersion`` row in force for the city on ``on`` (default: today, Asia/Shanghai).

    When versions overlap, the one with the latest ``effective_from`` wins (a new 办法 replaces
    the old one from its own start date), and among equal starts the one loaded last (a
    corrected re-issue of the same document).
    """
    from portal.models.policy import PolicyVersion  # deferred: this module loads before the app registry

    on = on or timezone.localdate()
    row = (
        PolicyVersion.objects.defer("data").filter(city__code=city_code, effective_from__lte=on)
        .filter(Q(effective_until__isnull=True) | Q(effective_until__gte=on))
        .order_by("-effective_from", "-loaded_at", "-pk")
        .first()
    )
    if row is None:
        raise PolicyNotFound(city_code, on)
    return row


def get_policy(city_code: str, on: date | None = None) -> Policy:
    """The policy of ``city_code`` in force on ``on`` (default: today).

    Raises :class:`PolicyNotFound` when no loaded version covers the date — e.g. 东莞 after
    2025-12-31 (第二十条) until a new version is loaded.
    """
    return policy_for_version(version_in_force(city_code, on))


def get_policy_version(city_code: str, version: str) -> Policy:
    """A specific stored version, whatever its dates.

    Studios established under a version keep being managed under it (their acceptance,
    rewards and revocation follow the rules they were established under), even once it has
    expired; records should therefore keep a reference to the version they started under.
    """
    from portal.models.policy import PolicyVersion

    with _lock:
        cached = _by_version.get((city_code, version))
    if cached is not None:
        return cached
    row = PolicyVersion.objects.defer("data").filter(city__code=city_code, version=version).first()
    if row is None:
        raise PolicyNotFound(city_code, version=version)
    policy = policy_for_version(row)
    with _lock:
        _by_version[(city_code, version)] = policy
    return policy

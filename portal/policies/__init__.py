"""City policies as data.

Each city's rules live in one TOML file next to this module (``<city>.toml``); ``manage.py
loadpolicies`` validates it and stores a ``PolicyVersion``; code asks ``get_policy(city, on)``
and branches on what the returned :class:`Policy` says, never on the city's name.  A sixth city
needs a sixth file and nothing else.  The file format is documented key by key in
docs/policies.md.

Public API (other modules depend on these names)::

    load_policy_file(path) -> Policy        # validate a file, raise PolicyError
    get_policy(city_code, on=None) -> Policy  # the version in force, raise PolicyNotFound
    get_policy_version(city_code, version) -> Policy
    Policy, PolicyError, PolicyNotFound, POLICY_DIR
"""
from __future__ import annotations

from pathlib import Path

from portal.policies.errors import PolicyError, PolicyNotFound
from portal.policies.registry import (
    clear_cache,
    get_policy,
    get_policy_version,
    policy_for_version,
    version_in_force,
)
from portal.policies.schema import Policy, load_policy_file, policy_from_data, to_json_data

POLICY_DIR = Path(__file__).resolve().parent


def bundled_policy_files() -> list[Path]:
    """The policy files shipped with the code, in a stable order."""
    return sorted(POLICY_DIR.glob("*.toml"))


__all__ = [
    "POLICY_DIR",
    "Policy",
    "PolicyError",
    "PolicyNotFound",
    "bundled_policy_files",
    "clear_cache",
    "get_policy",
    "get_policy_version",
    "load_policy_file",
    "policy_for_version",
    "policy_from_data",
    "to_json_data",
    "version_in_force",
]

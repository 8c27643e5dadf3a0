"""Running one state transition the same way everywhere.

An action locks the row, checks the version the user saw, checks permission, runs the
`@transition` method, saves, and writes the audit row, all in one transaction. Two people deciding
the same object at once: the second waits for the first's row lock, then finds the state or the
version changed and gets a clear message instead of a second transition.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from portal import access, audit

M = TypeVar("M", bound=models.Model)


class Conflict(Exception):
    """The object changed under the user's feet; the message says what to do."""


def lock(obj: M) -> M:
    """Re-read `obj` with a row lock (PostgreSQL: SELECT … FOR UPDATE; SQLite locks the file)."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def transition(
    obj: M,
    method: str,
    *,
    actor: Any,
    permission: str | None,
    action: str,
    reason: str = "",
    expected_version: int | None = None,
    data: dict[str, Any] | None = None,
    update_fields: tuple[str, ...] = (),
    before: Callable[[M], None] | None = None,
    args: tuple[Any, ...] = (),
) -> M:
    """Apply `obj.<method>()` under a lock; returns the fresh, saved object.

    Must be called inside transaction.atomic() when the caller does more work in the same
    transaction; it opens its own otherwise.
    """
    with transaction.atomic():
        fresh = lock(obj)
        if expected_version is not None and getattr(fresh, "version", expected_version) != expected_version:
            raise Conflict(_("该事项已被他人处理（当前状态：%(state)s），请刷新页面后查看。")
                           % {"state": fresh.get_state_display()})
        # permission=None: the scheduled sweep acting on the rules themselves (a notice period ended).
        if permission is not None and not access.can(actor, permission, fresh):
            if getattr(fresh, "state", None) != getattr(obj, "state", None):
                raise Conflict(_("该事项已被他人处理（当前状态：%(state)s），请刷新页面后查看。")
                               % {"state": fresh.get_state_display()})
            raise PermissionDenied
        bound = getattr(fresh, method)
        if not can_proceed(bound):
            raise Conflict(_("当前状态（%(state)s）下不能执行此操作，请刷新页面后查看。")
                           % {"state": fresh.get_state_display()})
        if before is not None:
            before(fresh)
        from_state = fresh.state
        bound(*args)
        fields = {"state", *update_fields}
        if hasattr(fresh, "version"):
            fresh.version += 1
            fields.add("version")
        fresh.save(update_fields=sorted(fields))
        audit.record(actor, action, fresh, from_state=from_state, to_state=fresh.state, reason=reason, data=data)
    return fresh

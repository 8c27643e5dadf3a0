"""Who may see and do what: the one place that answers it.

Two questions, asked by every view, download, export and PDF:
- `visible(user, queryset)` narrows a queryset to what the user's role and jurisdiction may see.
  Objects outside it answer 404, so nobody learns that they exist.
- `can(user, action, obj)` says whether the user may do `action` to a visible object (403 if not).

Apps register their own rules with `@rule("application.submit")` and scopes with
`@scope("workshops.application")`, so portal needs to import neither workshops nor reviews.
An action or a model nobody registered fails closed: `can` raises, `visible` raises.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

from portal.roles import Role

M = TypeVar("M", bound=models.Model)
RuleFn = Callable[[Any, Any], bool]
ScopeFn = Callable[[Any, models.QuerySet], models.QuerySet]

_rules: dict[str, RuleFn] = {}
_scopes: dict[str, ScopeFn] = {}

BUREAU_CITY_ROLES = {Role.CITY, Role.AGENCY, Role.DECISION, Role.OBSERVER}
ADMIN_ROLES = {Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN}


def rule(action: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        if action in _rules:
            raise RuntimeError(f"access rule {action!r} registered twice")
        _rules[action] = fn
        return fn

    return register


def scope(model_label: str) -> Callable[[ScopeFn], ScopeFn]:
    def register(fn: ScopeFn) -> ScopeFn:
        _scopes[model_label] = fn
        return fn

    return register


def is_active_user(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.role)


def has_role(user: Any, *roles: str) -> bool:
    return is_active_user(user) and user.role in roles


def can(user: Any, action: str, obj: Any = None) -> bool:
    try:
        fn = _rules[action]
    except KeyError:
        raise KeyError(f"no access rule registered for {action!r}") from None
    if not is_active_user(user) and not action.startswith("public."):
        return False
    return bool(fn(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied


def visible(user: Any, queryset: models.QuerySet[M]) -> models.QuerySet[M]:
    label = queryset.model._meta.label_lower
    try:
        fn = _scopes[label]
    except KeyError:
        raise KeyError(f"no access scope registered for {label!r}") from None
    if not is_active_user(user):
        return queryset.none()
    return fn(user, queryset)


def get_visible_or_404(user: Any, queryset: models.QuerySet[M], **lookup: Any) -> M:
    try:
        return visible(user, queryset).get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


def in_city_scope(user: Any, queryset: models.QuerySet[M], city_field: str = "city") -> models.QuerySet[M]:
    """Administrators without a city see every city; everyone else only their own."""
    if user.role in ADMIN_ROLES and not user.city_id:
        return queryset
    return queryset.filter(**{f"{city_field}_id": user.city_id})


# --- portal's own objects -------------------------------------------------------------------------

@scope("portal.organization")
def _organizations(user: Any, qs: models.QuerySet) -> models.QuerySet:
    if user.role == Role.UNIT:
        return qs.filter(pk=user.organization_id)
    if user.role == Role.DISTRICT:
        return qs.filter(district_id=user.district_id)
    if user.role in BUREAU_CITY_ROLES or user.role in {Role.SYSADMIN}:
        return in_city_scope(user, qs)
    return qs.none()


@scope("portal.auditevent")
def _audit_events(user: Any, qs: models.QuerySet) -> models.QuerySet:
    # Only the audit administrator reads the whole trail (三权分立); others see object histories
    # through the objects they can see, never the raw log.
    return qs if user.role == Role.AUDITADMIN else qs.none()


@rule("audit.view")
def _audit_view(user: Any, obj: Any) -> bool:
    return user.role == Role.AUDITADMIN


@rule("account.manage")
def _account_manage(user: Any, obj: Any) -> bool:
    """System administrator: creates and disables accounts; may not grant roles (三权分立)."""
    return user.role == Role.SYSADMIN


@rule("account.assign_role")
def _account_assign_role(user: Any, obj: Any) -> bool:
    """Security administrator: roles and permissions only."""
    return user.role == Role.SECADMIN


@rule("calendar.edit")
def _calendar_edit(user: Any, obj: Any) -> bool:
    return user.role in {Role.SYSADMIN, Role.CITY}


@rule("policy.load")
def _policy_load(user: Any, obj: Any) -> bool:
    return user.role == Role.SYSADMIN


@rule("organization.view")
def _organization_view(user: Any, obj: Any) -> bool:
    return True  # visibility is the scope above; seeing a visible unit needs nothing more


@rule("organization.edit")
def _organization_edit(user: Any, obj: Any) -> bool:
    if user.role == Role.UNIT:
        return obj is not None and obj.pk == user.organization_id
    return user.role == Role.CITY


# --- Accounts and the three administrators (portal/security.py, portal/views_accounts.py) ----------

@scope("portal.user")
def _users(user: Any, qs: models.QuerySet) -> models.QuerySet:
    # The account administrators see the accounts of their city (or all, without a city); everyone
    # else sees only their own account.
    if user.role in {Role.SYSADMIN, Role.SECADMIN}:
        return in_city_scope(user, qs)
    return qs.filter(pk=user.pk)


@rule("account.self_service")
def _account_self_service(user: Any, obj: Any) -> bool:
    """Own password and own second factor: every signed-in account."""
    return True


@rule("account.edit")
def _account_edit(user: Any, obj: Any) -> bool:
    """System administrator editing one account. Another administrator's account is out of reach:
    resetting the auditor's password would let the sysadmin act as the auditor (三权分立)."""
    if user.role != Role.SYSADMIN:
        return False
    if obj is None or obj.pk == user.pk:
        return True
    if obj.role in ADMIN_ROLES or obj.is_superuser:
        return False
    return not user.city_id or obj.city_id == user.city_id


@rule("account.assign_role_to")
def _account_assign_role_to(user: Any, obj: Any) -> bool:
    """Security administrator changing one account's role or status: never their own, and the
    administrator roles only from a deployment-wide (city-less) security administrator."""
    if user.role != Role.SECADMIN or obj is None or obj.pk == user.pk or obj.is_superuser:
        return False
    if user.city_id and (obj.role in ADMIN_ROLES or obj.city_id != user.city_id):
        return False
    return True


@rule("account.grant_admin_role")
def _account_grant_admin_role(user: Any, obj: Any) -> bool:
    return user.role == Role.SECADMIN and not user.city_id


@rule("audit.export")
def _audit_export(user: Any, obj: Any) -> bool:
    return user.role == Role.AUDITADMIN


# Reference data the system administrator keeps in the Django admin (User.has_perm consults this).
REFERENCE_DATA_PERMISSIONS: dict[str, set[str]] = {
    "portal.city": {"view", "add", "change"},
    "portal.district": {"view", "add", "change"},
    "portal.organization": {"view", "add", "change"},
    "portal.calendaryear": {"view", "add", "change", "delete"},
    "portal.calendarday": {"view", "add", "change", "delete"},
    "portal.policyversion": {"view"},
}


@rule("admin.reference_data")
def _admin_reference_data(user: Any, obj: Any) -> bool:
    """obj: "app_label.model:verb", e.g. "portal.city:change"."""
    if user.role != Role.SYSADMIN or not isinstance(obj, str) or ":" not in obj:
        return False
    model, verb = obj.rsplit(":", 1)
    return verb in REFERENCE_DATA_PERMISSIONS.get(model, set())

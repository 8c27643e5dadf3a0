from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.models import Notification
from portal.roles import Role

REVIEWER_ROLES = {Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION}
STUDIO_STAFF_ROLES = {Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION, Role.OBSERVER}


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    role = getattr(user, "role", "") if signed_in else ""
    return {
        "SITE_NAME": settings.PORTAL_SITE_NAME,
        # Unread inbox messages for the header: no query for visitors, one COUNT (only if a page shows it)
        # for a signed-in user.
        "inbox_unread": SimpleLazyObject(lambda: _unread(user)) if signed_in else 0,
        "nav": {
            "applications": role == Role.UNIT,
            "queue": role in REVIEWER_ROLES,
            "rounds": role == Role.CITY,
            "assignments": role == Role.EXPERT,
            "imports": role == Role.CITY,
            # The studios after establishment: the unit's own, or the bureau's scope (workshops.rules).
            "my_studios": role == Role.UNIT,
            "studios": role in STUDIO_STAFF_ROLES,
            # Statistics and exports: the same roles (reviews.dashboards.DASHBOARD_ROLES, its access rule).
            "dashboard": role in STUDIO_STAFF_ROLES,
        },
    }


def _unread(user: Any) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.roles import Role

REVIEWER_ROLES = {Role.DISTRICT, Role.AGENCY, Role.CITY, Role.DECISION}


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user is not None and user.is_authenticated else ""
    return {
        "SITE_NAME": settings.PORTAL_SITE_NAME,
        "nav": {
            "applications": role == Role.UNIT,
            "queue": role in REVIEWER_ROLES,
            "rounds": role == Role.CITY,
            "assignments": role == Role.EXPERT,
        },
    }

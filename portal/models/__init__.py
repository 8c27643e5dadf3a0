"""The shared models, one module per subject; imported here so Django finds them."""
from __future__ import annotations

from .accounts import User
from .audit import AuditChainHead, AuditEvent
from .calendar import CalendarDay, CalendarYear
from .geo import City, District
from .notifications import Notification
from .orgs import JobCategory, Organization, OrgKind, Person, Sex, SkillLevel
from .policy import PolicyVersion

__all__ = [
    "AuditChainHead", "AuditEvent", "CalendarDay", "CalendarYear", "City", "District", "JobCategory",
    "Notification", "Organization", "OrgKind", "Person", "PolicyVersion", "Sex", "SkillLevel", "User",
]

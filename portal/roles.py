"""Roles and what each one is, stated explicitly (never derived from a name or a label)."""
from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    UNIT = "unit", _("申报单位经办人")
    DISTRICT = "district", _("县区/镇街人社部门审核员")
    AGENCY = "agency", _("高技能人才公共实训管理服务机构")
    CITY = "city", _("市人社局工作人员")
    DECISION = "decision", _("局长办公会/领导小组")
    EXPERT = "expert", _("评审专家")
    OBSERVER = "observer", _("财政/教育部门联络员")
    SYSADMIN = "sysadmin", _("系统管理员")
    SECADMIN = "secadmin", _("安全管理员")
    AUDITADMIN = "auditadmin", _("审计管理员")


@dataclass(frozen=True)
class RoleInfo:
    needs_city: bool
    needs_district: bool
    needs_organization: bool
    is_bureau_staff: bool  # government side: stricter password age, idle timeout, second factor
    is_administrator: bool  # 三权分立: the three administrators (等保2.0 三级 安全管理中心)


ROLE_INFO: dict[str, RoleInfo] = {
    Role.UNIT: RoleInfo(True, False, True, False, False),
    Role.DISTRICT: RoleInfo(True, True, False, True, False),
    Role.AGENCY: RoleInfo(True, False, False, True, False),
    Role.CITY: RoleInfo(True, False, False, True, False),
    Role.DECISION: RoleInfo(True, False, False, True, False),
    # An expert's organization is what conflict-of-interest checks compare against; optional.
    Role.EXPERT: RoleInfo(True, False, False, False, False),
    Role.OBSERVER: RoleInfo(True, False, False, True, False),
    # Administrators may be scoped to one city or, with no city, to the whole deployment.
    Role.SYSADMIN: RoleInfo(False, False, False, True, True),
    Role.SECADMIN: RoleInfo(False, False, False, True, True),
    Role.AUDITADMIN: RoleInfo(False, False, False, True, True),
}


def info(role: str) -> RoleInfo:
    return ROLE_INFO[role]

"""Accounts: one role per account, scoped to a city, and for some roles a district or a unit."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField
from portal.roles import Role, info


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="users", verbose_name=_("所属城市"))
    district = models.ForeignKey("portal.District", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="users", verbose_name=_("所属县区/镇街"))
    organization = models.ForeignKey("portal.Organization", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="users", verbose_name=_("所属单位"))
    mobile = EncryptedTextField(_("手机号码"), blank=True, default="")
    title = models.CharField(_("职务/职称"), max_length=50, blank=True)

    # --- Account security (等保2.0 三级 身份鉴别; see portal/security.py and docs/security.md) ---------
    # Lockout state lives in the database, not the cache, so every gunicorn worker sees the same count.
    failed_login_count = models.PositiveIntegerField(_("连续登录失败次数"), default=0)
    failed_login_window_start = models.DateTimeField(_("本轮登录失败起始时间"), null=True, blank=True)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # Null means "age unknown", which counts as expired for accounts that have a maximum age.
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)
    last_login_ip = models.GenericIPAddressField(_("上次登录 IP"), null=True, blank=True)
    totp_secret = EncryptedTextField(_("动态口令密钥"), blank=True, default="")
    totp_confirmed_at = models.DateTimeField(_("动态口令绑定时间"), null=True, blank=True)
    # The last 30-second time step accepted, so an observed code cannot be replayed within its window.
    totp_last_step = models.BigIntegerField(_("动态口令最近使用时段"), null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def role_info(self):  # noqa: ANN201 - RoleInfo; property keeps templates simple
        return info(self.role) if self.role else None

    @property
    def is_strict_account(self) -> bool:
        """Bureau staff, administrators and role-less (break-glass superuser) accounts get the stricter
        rules: maximum password age, short idle timeout, mandatory second factor."""
        return not self.role or info(self.role).is_bureau_staff

    @property
    def totp_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        # Stamped here and saved by save() below even when callers pass update_fields=["password"].
        self.password_changed_at = timezone.now()

    def check_password(self, raw_password: str) -> bool:
        # Django re-saves the password when it upgrades the hasher; that is not a change of password,
        # so the password's age must not restart.
        kept = self.password_changed_at
        ok = super().check_password(raw_password)
        self.password_changed_at = kept
        return ok

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields: Iterable[str] | None = kwargs.get("update_fields")
        # `_password` is set only by a real set_password() (Django clears it for hash upgrades).
        if update_fields is not None and self._password is not None and "password" in update_fields:
            kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        super().save(*args, **kwargs)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if super().has_perm(perm, obj):
            return True
        # The Django admin asks for model permissions; the system administrator's come from the role
        # (portal.access), not from permission rows that nobody would keep in step with the role.
        from portal import access

        app_label, _dot, codename = perm.partition(".")
        verb, _sep, model = codename.partition("_")
        return access.can(self, "admin.reference_data", f"{app_label}.{model}:{verb}")

    def has_module_perms(self, app_label: str) -> bool:
        if super().has_module_perms(app_label):
            return True
        from portal import access

        return any(access.can(self, "admin.reference_data", f"{label}:view")
                   for label in access.REFERENCE_DATA_PERMISSIONS if label.startswith(app_label + "."))

    @property
    def jurisdiction_label(self) -> str:
        parts = [str(p) for p in (self.city, self.district, self.organization) if p]
        if self.district_id and self.city_id:
            parts = [str(self.district)] + ([str(self.organization)] if self.organization_id else [])
        return " · ".join(parts) if parts else str(_("全平台"))

    def clean(self) -> None:
        super().clean()
        if not self.role:
            if self.is_superuser:
                return
            raise ValidationError({"role": _("请选择角色。")})
        ri = info(self.role)
        errors: dict[str, str] = {}
        if ri.needs_city and not self.city_id:
            errors["city"] = _("该角色必须指定所属城市。")
        if ri.needs_district and not self.district_id:
            errors["district"] = _("县区/镇街审核员必须指定所属县区/镇街。")
        if not ri.needs_district and self.district_id and self.role != Role.UNIT:
            errors["district"] = _("该角色不按县区划分，请留空。")
        if ri.needs_organization and not self.organization_id:
            errors["organization"] = _("申报单位经办人必须指定所属单位。")
        if self.district_id and self.city_id and self.district.city_id != self.city_id:
            errors["district"] = _("所选县区/镇街不属于所选城市。")
        if self.organization_id and self.city_id and self.organization.city_id != self.city_id:
            errors["organization"] = _("所选单位不属于所选城市。")
        if errors:
            raise ValidationError(errors)

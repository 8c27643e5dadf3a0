"""Stored versions of each city's policy file (see portal/policies/ and docs/policies.md).

A row is written by ``manage.py loadpolicies`` and never edited: a changed file must carry a new
``version``, so that an application decided under version 1 can always be re-read under the
rules that applied to it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from portal.policies.schema import Policy


class PolicyVersion(models.Model):
    city = models.ForeignKey(
        "portal.City",
        on_delete=models.PROTECT,
        related_name="policy_versions",
        verbose_name=_("城市"),
    )
    version = models.CharField(_("版本"), max_length=32, help_text=_("政策文件 [document] version"))
    title = models.CharField(_("文件标题"), max_length=200)
    document_number = models.CharField(_("文号"), max_length=100, blank=True)
    effective_from = models.DateField(_("生效日期"))
    effective_until = models.DateField(_("失效日期"), null=True, blank=True, help_text=_("空表示长期有效"))
    # The parsed file, dates as ISO strings; re-validated by portal.policies on every (cached) read.
    data = models.JSONField(_("政策内容"))
    source_name = models.CharField(_("来源文件"), max_length=255)
    sha256 = models.CharField(_("文件 SHA-256"), max_length=64)
    loaded_at = models.DateTimeField(_("载入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("政策版本")
        verbose_name_plural = _("政策版本")
        ordering = ["city", "-effective_from", "-loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["city", "version"], name="policyversion_unique_city_version"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=F("effective_from")),
                name="policyversion_until_after_from",
            ),
        ]
        indexes = [models.Index(fields=["city", "effective_from"], name="policyversion_city_from")]

    def __str__(self) -> str:
        return f"{self.city} {self.title}（{self.version}）"

    def policy(self) -> Policy:
        """The parsed rules of this version (cached per process)."""
        from portal.policies.registry import policy_for_version

        return policy_for_version(self)

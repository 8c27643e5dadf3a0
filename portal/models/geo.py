"""Jurisdictions: a city and the districts/counties/towns under it.

Both come from the city's policy file (`manage.py loadpolicies`), so a sixth city is data only.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class City(models.Model):
    code = models.SlugField(_("城市代码"), unique=True, help_text=_("与政策文件名一致，如 zhengzhou"))
    name = models.CharField(_("城市名称"), max_length=50)
    bureau_name = models.CharField(_("人社部门名称"), max_length=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("城市")
        verbose_name_plural = _("城市")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class District(models.Model):
    class Kind(models.TextChoices):
        DISTRICT = "district", _("区")
        COUNTY = "county", _("县")
        COUNTY_CITY = "county_city", _("县级市")
        BANNER = "banner", _("旗")
        TOWN = "town", _("镇")
        STREET = "street", _("街道")
        PARK = "park", _("园区")

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="districts", verbose_name=_("城市"))
    code = models.CharField(_("行政区划代码"), max_length=12)
    name = models.CharField(_("名称"), max_length=50)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, default=Kind.DISTRICT)

    class Meta:
        verbose_name = _("县区/镇街")
        verbose_name_plural = _("县区/镇街")
        ordering = ["city", "code"]
        constraints = [models.UniqueConstraint(fields=["city", "code"], name="district_unique_code_per_city")]

    def __str__(self) -> str:
        return f"{self.city.name}{self.name}"

"""Organizations (the units that host studios) and people (leaders and members)."""
from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField, blind_index
from portal.masking import mask_id_number, mask_phone
from portal.validators import normalize_id_number, normalize_uscc, parse_id_number, validate_id_number, validate_uscc


class OrgKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("企业")
    VOCATIONAL_SCHOOL = "vocational_school", _("技工院校/职业院校")
    ASSOCIATION = "association", _("行业协会")
    TRAINING_INSTITUTION = "training_institution", _("职业技能培训机构")
    TRAINING_BASE = "training_base", _("公共实训基地/高技能人才培训基地")
    UNIVERSITY = "university", _("高校")
    RESEARCH = "research", _("科研机构")


class SkillLevel(models.IntegerChoices):
    """国家职业资格/职业技能等级, ordered so that comparisons mean "at least"."""

    JUNIOR = 1, _("初级工（五级）")
    INTERMEDIATE = 2, _("中级工（四级）")
    SENIOR = 3, _("高级工（三级）")
    TECHNICIAN = 4, _("技师（二级）")
    SENIOR_TECHNICIAN = 5, _("高级技师（一级）")
    SPECIAL_TECHNICIAN = 6, _("特级技师")
    CHIEF_TECHNICIAN = 7, _("首席技师")

    @classmethod
    def from_code(cls, code: str) -> SkillLevel:
        """Policy files name levels by lower-case code ("technician")."""
        return cls[code.upper()]


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def in_city(self, city_id: int) -> OrganizationQuerySet:
        return self.filter(city_id=city_id)


class Organization(models.Model):
    name = models.CharField(_("单位名称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc])
    kind = models.CharField(_("单位类型"), max_length=30, choices=OrgKind.choices)
    city = models.ForeignKey("portal.City", on_delete=models.PROTECT, related_name="organizations",
                             verbose_name=_("所在城市"))
    district = models.ForeignKey("portal.District", on_delete=models.PROTECT, related_name="organizations",
                                 verbose_name=_("所在县区/镇街"))
    address = models.CharField(_("通信地址"), max_length=200, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = EncryptedTextField(_("联系电话"), blank=True, default="")
    training_site_area = models.DecimalField(_("技能实训场地面积（平方米）"), max_digits=10, decimal_places=1,
                                             null=True, blank=True)
    on_dishonesty_list = models.BooleanField(
        _("列入失信名单"), default=False,
        help_text=_("被列入经营异常、严重违法失信等失信名单（东莞 第十八条(三)、第十九条）"))
    dishonesty_note = models.CharField(_("失信情况说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["city", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        self.uscc = normalize_uscc(self.uscc or "")
        if self.district_id and self.city_id and self.district.city_id != self.city_id:
            raise ValidationError({"district": _("所选县区/镇街不属于所在城市。")})


class JobCategory(models.TextChoices):
    """Which retirement age applies to a woman (男职工 one age; 女职工 50 → 55 or 55 → 58)."""

    WORKER = "worker", _("工人岗位")
    CADRE = "cadre", _("管理和专业技术岗位")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class PersonQuerySet(models.QuerySet["Person"]):
    def by_id_number(self, id_number: str) -> PersonQuerySet:
        return self.filter(id_hash=blind_index(normalize_id_number(id_number)))


class Person(models.Model):
    """A leader or member. The ID number is stored encrypted; id_hash finds a person by it."""

    name = models.CharField(_("姓名"), max_length=50)
    id_number = EncryptedTextField(_("身份证号"))
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, editable=False)
    birth_date = models.DateField(_("出生日期"), editable=False)
    mobile = EncryptedTextField(_("手机号码"), blank=True, default="")
    home_address = EncryptedTextField(_("家庭住址"), blank=True, default="")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="people", verbose_name=_("工作单位"))
    job_category = models.CharField(_("岗位类别"), max_length=10, choices=JobCategory.choices,
                                    default=JobCategory.WORKER)
    occupation = models.CharField(_("职业（工种）"), max_length=100, blank=True)
    skill_level = models.PositiveSmallIntegerField(_("职业技能等级"), choices=SkillLevel.choices, null=True,
                                                   blank=True)
    honours = models.TextField(_("荣誉称号"), blank=True, help_text=_("如 首席技师、全国技术能手，每行一项"))
    ich_inheritor_level = models.CharField(
        _("非遗传承人级别"), max_length=20, blank=True,
        choices=[("", _("无")), ("city", _("市级")), ("province", _("省级")), ("national", _("国家级"))])

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.derive_identity()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def derive_identity(self) -> None:
        """Birth date and sex are facts of the ID number (GB 11643): derive them, never ask twice.
        Called by save(); bulk_create (imports) bypasses save() and calls it itself."""
        self.id_number = normalize_id_number(self.id_number)
        parsed = parse_id_number(self.id_number)
        self.birth_date, self.sex = parsed.birth_date, parsed.sex
        self.id_hash = blind_index(self.id_number)

    def clean(self) -> None:
        super().clean()
        if self.id_number:
            self.id_number = normalize_id_number(self.id_number)
            validate_id_number(self.id_number)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_mobile(self) -> str:
        return mask_phone(self.mobile)

    def age_on(self, on: date) -> int:
        b = self.birth_date
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

"""Validators for the two national identifiers the portal collects.

* 统一社会信用代码 (unified social credit identifier) of a legal person or other organisation,
  GB 32100-2015《法人和其他组织统一社会信用代码编码规则》.
* 公民身份号码 printed on the 居民身份证, GB 11643-1999《公民身份号码》.

Both are checked structurally *and* by their check character, so a mistyped character is caught at
entry time instead of surfacing later as an unmatchable record in a bureau's roster.  Validators
accept surrounding/inner blanks, full-width characters and lower-case letters (people paste these
from Word documents and phone keyboards); store the canonical form from ``normalize_uscc`` /
``normalize_id_number``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "USCC_REGISTRATION_AUTHORITIES",
    "IdInfo",
    "id_check_digit",
    "normalize_id_number",
    "normalize_uscc",
    "parse_id_number",
    "uscc_check_char",
    "validate_id_number",
    "validate_uscc",
]

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

# 省级行政区划代码, GB/T 2260 (first two digits of any 6-digit region code).  Real codes of both
# identifiers start with one of these, plus: "10" for the national level (100000) that GB 32100
# uses for organisations registered by central authorities, and "83" in the numbers of
# 港澳台居民居住证 issued to 台湾居民, which follow GB 11643 as well (81/82 cover 港澳居民).
_PROVINCE_CODES: Final[frozenset[str]] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip
_USCC_REGION_PREFIXES: Final[frozenset[str]] = _PROVINCE_CODES | {"10"}
_ID_REGION_PREFIXES: Final[frozenset[str]] = _PROVINCE_CODES | {"83"}


def _canonical(value: str) -> str:
    # NFKC folds full-width digits/letters (“４１０４…”, “Ｘ”) to ASCII; blanks of any kind are
    # dropped because numbers are often pasted in groups ("4104 0219 ...").
    folded = unicodedata.normalize("NFKC", value)
    return "".join(folded.split()).upper()


# --------------------------------------------------------------------------------------------
# 统一社会信用代码, GB 32100-2015
# --------------------------------------------------------------------------------------------

# GB 32100-2015 §4.2 代码字符集: digits and upper-case Latin letters except I, O, Z, S, V.  The
# index of a character in this string is its value in the check computation (附录 A).
_USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final[dict[str, int]] = {c: i for i, c in enumerate(_USCC_CHARSET)}
# GB 32100-2015 附录 A: W_i = 3^(i-1) mod 31 for positions 1..17.
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# 第1位 登记管理部门代码 → (部门, {第2位 机构类别代码: 机构类别}), as published with the standard
# and its later assignments to further registration authorities.
USCC_REGISTRATION_AUTHORITIES: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体",
                       "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所",
                       "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    # 类别 4 is what civil-affairs departments assign to 基层群众性自治组织 (村民委员会、居民委员会),
    # which became 特别法人 under《民法典》第一百零一条 after the standard was published.
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会",
                   "4": "基层群众性自治组织", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构",
                   "2": "港澳台地区旅游部门常驻内地（大陆）代表机构", "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织",
                   "3": "乡镇级集体经济组织", "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}  # fmt: skip


def normalize_uscc(value: str) -> str:
    """Return the canonical (upper-case, blank-free, half-width) form of a USCC."""
    return _canonical(value)


def uscc_check_char(first17: str) -> str:
    """Compute the 18th (check) character of a USCC from its first 17 characters.

    GB 32100-2015 附录 A: C18 = 31 - (Σ C_i·W_i mod 31), where a result of 31 is written "0".
    Raises ``ValueError`` for input that is not 17 characters of the code's charset: this is a
    programming error, user input goes through ``validate_uscc``.
    """
    if len(first17) != 17 or any(c not in _USCC_VALUE for c in first17):
        raise ValueError(f"uscc_check_char() needs 17 characters of {_USCC_CHARSET!r}")
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    """Django validator for a 统一社会信用代码 (GB 32100-2015).

    Checks, in order, so that the message names the first rule broken: length 18; charset
    (GB 32100-2015 §4.2); 第1位 登记管理部门代码 and 第2位 机构类别代码 against the standard's
    table; 第3-8位 a 6-digit 登记管理机关行政区划码 (GB/T 2260); 第18位 校验码 (附录 A).
    """
    code = normalize_uscc(value)
    if len(code) != 18:
        raise ValidationError(
            _("统一社会信用代码应为18位（GB 32100-2015），当前为%(length)d位。"),
            code="uscc_length",
            params={"length": len(code)},
        )
    bad = [c for c in code if c not in _USCC_VALUE]
    if bad:
        raise ValidationError(
            _(
                "统一社会信用代码含有无效字符“%(chars)s”：只能由数字和除 I、O、Z、S、V 以外的"
                "大写英文字母组成（GB 32100-2015）。"
            ),
            code="uscc_charset",
            params={"chars": "".join(dict.fromkeys(bad))},
        )
    authority = USCC_REGISTRATION_AUTHORITIES.get(code[0])
    if authority is None:
        raise ValidationError(
            _("统一社会信用代码第1位登记管理部门代码“%(char)s”无效（GB 32100-2015）。"),
            code="uscc_authority",
            params={"char": code[0]},
        )
    authority_name, org_types = authority
    if code[1] not in org_types:
        raise ValidationError(
            _(
                "统一社会信用代码第2位机构类别代码“%(char)s”无效：登记管理部门为%(authority)s"
                "（%(first)s）时，机构类别代码应为 %(allowed)s（GB 32100-2015）。"
            ),
            code="uscc_org_type",
            params={
                "char": code[1],
                "authority": authority_name,
                "first": code[0],
                "allowed": "、".join(org_types),
            },
        )
    region = code[2:8]
    if not (region.isascii() and region.isdigit()) or region[:2] not in _USCC_REGION_PREFIXES:
        raise ValidationError(
            _(
                "统一社会信用代码第3-8位应为6位数字的登记管理机关行政区划码（GB 32100-2015、"
                "GB/T 2260），当前为“%(region)s”。"
            ),
            code="uscc_region",
            params={"region": region},
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("统一社会信用代码校验位错误（GB 32100-2015），请核对是否有输错的字符。"),
            code="uscc_check",
        )


# --------------------------------------------------------------------------------------------
# 公民身份号码, GB 11643-1999
# --------------------------------------------------------------------------------------------

# GB 11643-1999 §7.2 (ISO 7064:1983 MOD 11-2): W_i = 2^(18-i) mod 11, check = (12 - S mod 11)
# mod 11 with 10 written as "X"; indexed by S mod 11 this is the string below.
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_BY_REMAINDER: Final = "10X98765432"

Sex = Literal["M", "F"]


@dataclass(frozen=True, slots=True)
class IdInfo:
    """What an 18-digit 公民身份号码 encodes (GB 11643-1999 §5)."""

    region_code: str  # 地址码: 6-digit GB/T 2260 code of the 常住户口所在县（市、旗、区）
    birth_date: date  # 出生日期码
    sex: Sex  # 顺序码 (17th digit): odd for men, even for women


def normalize_id_number(value: str) -> str:
    """Return the canonical form: half-width, no blanks, check character "X" upper-case."""
    return _canonical(value)


def id_check_digit(first17: str) -> str:
    """Compute the 18th (check) character of a 公民身份号码 from its first 17 digits.

    GB 11643-1999 §7: ISO 7064 MOD 11-2.  Raises ``ValueError`` if ``first17`` is not 17 ASCII
    digits (a programming error; user input goes through ``validate_id_number``).
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("id_check_digit() needs exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_BY_REMAINDER[total % 11]


def _today() -> date:
    # The portal's users are in China: "today" is the local date, not the UTC one.
    return timezone.localdate() if settings.USE_TZ else date.today()


def parse_id_number(value: str, *, today: date | None = None) -> IdInfo:
    """Validate an 18-digit 公民身份号码 and return what it encodes.

    Raises ``ValidationError`` (see ``validate_id_number`` for the rules).  ``today`` is for
    tests; the default is the local date.
    """
    number = normalize_id_number(value)
    if len(number) == 15 and number.isascii() and number.isdigit():
        # 15-digit numbers were issued before GB 11643-1999; they carry no check digit and a
        # two-digit year, so the 18-digit number on the person's current card must be used.
        raise ValidationError(
            _("这是15位的旧身份证号码，请填写18位的居民身份证号码（GB 11643-1999）。"),
            code="id_old_15_digit",
        )
    if len(number) != 18:
        raise ValidationError(
            _("居民身份证号码应为18位（GB 11643-1999），当前为%(length)d位。"),
            code="id_length",
            params={"length": len(number)},
        )
    body, check = number[:17], number[17]
    if not (body.isascii() and body.isdigit()) or not (check.isdigit() or check == "X"):
        raise ValidationError(
            _("居民身份证号码的前17位应为数字，最后一位应为数字或 X（GB 11643-1999）。"),
            code="id_format",
        )
    region = number[:6]
    if region[:2] not in _ID_REGION_PREFIXES:
        raise ValidationError(
            _("居民身份证号码前6位地址码“%(region)s”不是有效的行政区划代码（GB 11643-1999、GB/T 2260）。"),
            code="id_region",
            params={"region": region},
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("居民身份证号码第7-14位出生日期“%(digits)s”不是有效日期（GB 11643-1999）。"),
            code="id_birth_date",
            params={"digits": number[6:14]},
        ) from None
    if birth > (today or _today()):
        raise ValidationError(
            _("居民身份证号码中的出生日期 %(birth)s 晚于今天，请核对（GB 11643-1999）。"),
            code="id_birth_future",
            params={"birth": birth.isoformat()},
        )
    if id_check_digit(body) != check:
        raise ValidationError(
            _("居民身份证号码校验位错误（GB 11643-1999），请核对是否有输错的数字。"),
            code="id_check",
        )
    sex: Sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(region_code=region, birth_date=birth, sex=sex)


def validate_id_number(value: str) -> None:
    """Django validator for an 18-digit 公民身份号码 (GB 11643-1999).

    Rules: 15-digit pre-1999 numbers are refused (use the 18-digit one); 18 characters, 17 digits
    then a digit or X (lower-case x accepted); 地址码 starts with a GB/T 2260 province code; the
    出生日期码 is a real calendar date not after today; the check character matches (§7).
    """
    parse_id_number(value)

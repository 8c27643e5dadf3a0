"""Tests for portal/validators.py: 统一社会信用代码 (GB 32100-2015), 身份号码 (GB 11643-1999)."""

from __future__ import annotations

from datetime import date

import pytest
from django import forms
from django.core.exceptions import ValidationError

from portal.validators import (
    USCC_REGISTRATION_AUTHORITIES,
    IdInfo,
    id_check_digit,
    normalize_id_number,
    normalize_uscc,
    parse_id_number,
    uscc_check_char,
    validate_id_number,
    validate_uscc,
)

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# A public example code; its check character was verified by an independent computation.
PUBLIC_USCC = "91350100M000100Y43"
# Computed with uscc_check_char from plausible prefixes (region 410402 = 平顶山市新华区).
ENTERPRISE_USCC = "91410402MA0000001A"  # 工商 / 企业
INSTITUTION_USCC = "12410400415800001J"  # 机构编制 / 事业单位
SOCIAL_ORG_USCC = "52410402MJ0000001U"  # 民政 / 民办非企业单位
VILLAGE_USCC = "54410402MEA000001B"  # 民政 / 基层群众性自治组织
CHECK_ZERO_USCC = "91410402MA40000000"  # weighted sum ≡ 0 (mod 31): 31 is written "0"

# The two examples printed in GB 11643-1999 itself.
STANDARD_ID_FEMALE = "11010519491231002X"  # 北京市朝阳区, 1949-12-31, 女
STANDARD_ID_MALE = "440524188001010014"  # 广东省汕头市潮阳县, 1880-01-01, 男
# Computed with id_check_digit, region 410402 = 平顶山市新华区.
PINGDINGSHAN_ID = "410402198001011236"  # 1980-01-01, 顺序码 123 (odd → 男)
LEAP_DAY_ID = "410402200002290011"  # 2000-02-29, 顺序码 001


def error_code(exc: pytest.ExceptionInfo[ValidationError]) -> str | None:
    return exc.value.code


def error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


# --- 统一社会信用代码 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [PUBLIC_USCC, ENTERPRISE_USCC, INSTITUTION_USCC, SOCIAL_ORG_USCC, VILLAGE_USCC,
     CHECK_ZERO_USCC],
)  # fmt: skip
def test_it_accepts_valid_uscc(code: str) -> None:
    validate_uscc(code)


def test_it_computes_the_uscc_check_char_of_the_public_example() -> None:
    assert uscc_check_char(PUBLIC_USCC[:17]) == "3"


def test_it_writes_check_value_31_as_zero() -> None:
    assert uscc_check_char(CHECK_ZERO_USCC[:17]) == "0"


def test_it_uses_the_gb32100_weights() -> None:
    # 附录 A: W_i = 3^(i-1) mod 31.  A single "1" at position i contributes W_i.
    for i in range(17):
        body = "0" * i + "1" + "0" * (16 - i)
        weight = pow(3, i, 31)
        assert uscc_check_char(body) == USCC_CHARSET[(31 - weight % 31) % 31]


def test_it_rejects_bad_input_to_uscc_check_char() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("9135010")
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100I4")


def test_it_normalises_uscc_case_blanks_and_full_width() -> None:
    assert normalize_uscc(" 9135 0100m000100y43 ") == PUBLIC_USCC
    assert normalize_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == PUBLIC_USCC
    validate_uscc("91350100m000100y43")


@pytest.mark.parametrize("value", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_it_rejects_uscc_of_wrong_length(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_uscc(value)
    assert error_code(exc) == "uscc_length"
    assert "18位" in error_text(exc)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_it_rejects_uscc_letters_outside_the_charset(letter: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_uscc(PUBLIC_USCC[:10] + letter + PUBLIC_USCC[11:])
    assert error_code(exc) == "uscc_charset"
    assert letter in error_text(exc)
    assert "GB 32100-2015" in error_text(exc)


def test_it_rejects_an_unknown_registration_authority() -> None:
    body = "B1350100M000100Y4"
    with pytest.raises(ValidationError) as exc:
        validate_uscc(body + uscc_check_char(body))
    assert error_code(exc) == "uscc_authority"
    assert "登记管理部门代码" in error_text(exc)


def test_it_rejects_an_org_type_the_authority_does_not_have() -> None:
    # 工商 (9) has 企业 1, 个体工商户 2, 农民专业合作社 3 only.
    body = "94350100M000100Y4"
    with pytest.raises(ValidationError) as exc:
        validate_uscc(body + uscc_check_char(body))
    assert error_code(exc) == "uscc_org_type"
    assert "机构类别代码" in error_text(exc)
    assert "工商" in error_text(exc)


def test_it_knows_every_authority_of_the_standard() -> None:
    assert set(USCC_REGISTRATION_AUTHORITIES) == set("123456789ANY")
    assert set(USCC_REGISTRATION_AUTHORITIES["9"][1]) == {"1", "2", "3"}
    assert set(USCC_REGISTRATION_AUTHORITIES["Y"][1]) == {"1"}


@pytest.mark.parametrize("region", ["3501A0", "990100", "000000"])
def test_it_rejects_a_bad_region_code(region: str) -> None:
    body = "91" + region + "M000100Y4"
    with pytest.raises(ValidationError) as exc:
        validate_uscc(body + uscc_check_char(body))
    assert error_code(exc) == "uscc_region"
    assert "行政区划码" in error_text(exc)


def test_it_accepts_the_national_region_code() -> None:
    body = "11100000000013127"
    validate_uscc(body + uscc_check_char(body))


def test_it_rejects_a_wrong_uscc_check_char_naming_the_rule() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_uscc(PUBLIC_USCC[:17] + "4")
    assert error_code(exc) == "uscc_check"
    assert error_text(exc).startswith("统一社会信用代码校验位错误（GB 32100-2015）")


def test_it_catches_every_single_character_substitution_in_a_uscc() -> None:
    # MOD 31 with weights prime to 31 detects any one wrong character (the point of the check).
    for position in range(18):
        for char in USCC_CHARSET:
            if char == PUBLIC_USCC[position]:
                continue
            typo = PUBLIC_USCC[:position] + char + PUBLIC_USCC[position + 1 :]
            with pytest.raises(ValidationError):
                validate_uscc(typo)


def test_it_works_as_a_form_field_validator() -> None:
    class OrgForm(forms.Form):
        uscc = forms.CharField(validators=[validate_uscc])

    form = OrgForm(data={"uscc": PUBLIC_USCC[:17] + "0"})
    assert not form.is_valid()
    assert "校验位错误" in form.errors["uscc"][0]
    assert OrgForm(data={"uscc": PUBLIC_USCC}).is_valid()


# --- 公民身份号码 ----------------------------------------------------------------------------


@pytest.mark.parametrize("number", [STANDARD_ID_FEMALE, STANDARD_ID_MALE, PINGDINGSHAN_ID, LEAP_DAY_ID])
def test_it_accepts_valid_id_numbers(number: str) -> None:
    validate_id_number(number)


def test_it_computes_the_check_digits_of_the_standards_examples() -> None:
    assert id_check_digit(STANDARD_ID_FEMALE[:17]) == "X"
    assert id_check_digit(STANDARD_ID_MALE[:17]) == "4"


def test_it_rejects_bad_input_to_id_check_digit() -> None:
    with pytest.raises(ValueError):
        id_check_digit("1101051949123100")
    with pytest.raises(ValueError):
        id_check_digit("1101051949123100X")


def test_it_parses_region_birth_date_and_sex() -> None:
    assert parse_id_number(PINGDINGSHAN_ID) == IdInfo(region_code="410402", birth_date=date(1980, 1, 1), sex="M")
    assert parse_id_number(STANDARD_ID_FEMALE) == IdInfo(region_code="110105", birth_date=date(1949, 12, 31), sex="F")


def test_it_reads_sex_from_the_17th_digit() -> None:
    for digit in "0123456789":
        body = "4104021980010112" + digit
        info = parse_id_number(body + id_check_digit(body))
        assert info.sex == ("M" if int(digit) % 2 else "F")


def test_it_accepts_and_normalises_a_lower_case_x() -> None:
    lower = STANDARD_ID_FEMALE.lower()
    validate_id_number(lower)
    assert normalize_id_number(lower) == STANDARD_ID_FEMALE
    assert normalize_id_number(" 110105 19491231 002ｘ ") == STANDARD_ID_FEMALE


def test_it_refuses_15_digit_numbers_asking_for_the_18_digit_one() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number("410402800101123")
    assert error_code(exc) == "id_old_15_digit"
    assert "18位" in error_text(exc)


@pytest.mark.parametrize("value", ["41040219800101123", "4104021980010112361", ""])
def test_it_rejects_id_numbers_of_wrong_length(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert error_code(exc) == "id_length"


@pytest.mark.parametrize("value", ["41040219800101X236", "4104021980010112-6", "41040219800101123A"])
def test_it_rejects_non_digits_except_a_final_x(value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number(value)
    assert error_code(exc) == "id_format"


def test_it_rejects_an_unknown_province_code() -> None:
    body = "99040219800101123"
    with pytest.raises(ValidationError) as exc:
        validate_id_number(body + id_check_digit(body))
    assert error_code(exc) == "id_region"


@pytest.mark.parametrize("birth", ["19800230", "19000229", "19801301", "19800100"])
def test_it_rejects_an_impossible_birth_date(birth: str) -> None:
    # The check digit is right, so only the date rule can fail.
    body = "410402" + birth + "123"
    with pytest.raises(ValidationError) as exc:
        validate_id_number(body + id_check_digit(body))
    assert error_code(exc) == "id_birth_date"
    assert birth in error_text(exc)


def test_it_rejects_a_birth_date_in_the_future() -> None:
    body = "41040220300101123"
    number = body + id_check_digit(body)
    with pytest.raises(ValidationError) as exc:
        parse_id_number(number, today=date(2029, 12, 31))
    assert error_code(exc) == "id_birth_future"
    assert parse_id_number(number, today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)
    with pytest.raises(ValidationError):
        validate_id_number("410402" + "99991231" + "123" + id_check_digit("41040299991231123"))


def test_it_rejects_a_wrong_id_check_digit_naming_the_rule() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_id_number(PINGDINGSHAN_ID[:17] + "X")
    assert error_code(exc) == "id_check"
    assert error_text(exc).startswith("居民身份证号码校验位错误（GB 11643-1999）")


def test_it_catches_every_single_digit_substitution_in_an_id_number() -> None:
    for position in range(18):
        for char in "0123456789X":
            if char == PINGDINGSHAN_ID[position]:
                continue
            typo = PINGDINGSHAN_ID[:position] + char + PINGDINGSHAN_ID[position + 1 :]
            with pytest.raises(ValidationError):
                validate_id_number(typo)

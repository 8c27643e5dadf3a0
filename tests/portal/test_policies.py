"""City policy files: the five seeds load and say what the documents say; a sixth city is a file;
bad files are refused with the file, the key and the rule; loading is idempotent and versioned."""
from __future__ import annotations

import copy
import dataclasses
import shutil
import tomllib
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import City, District, PolicyVersion
from portal.models.orgs import OrgKind, SkillLevel
from portal.policies import (
    POLICY_DIR,
    Policy,
    PolicyError,
    PolicyNotFound,
    clear_cache,
    get_policy,
    get_policy_version,
    load_policy_file,
    policy_from_data,
    vocab,
)
from portal.policies.schema import Sourced

FIXTURES = Path(__file__).parent / "fixtures"
TESTVILLE = FIXTURES / "testville.toml"
CITIES = ("pingdingshan", "zhengzhou", "dongguan", "wenzhou", "hohhot")


def load(code: str) -> Policy:
    return load_policy_file(POLICY_DIR / f"{code}.toml")


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> None:
    clear_cache()


# --------------------------------------------------------------------------------------------------
# Vocabularies agree with the models that store them
# --------------------------------------------------------------------------------------------------


def test_vocabularies_match_the_models() -> None:
    assert set(vocab.DISTRICT_KINDS) == set(District.Kind.values)
    assert set(vocab.ORG_KINDS) == set(OrgKind.values)
    by_value = sorted(SkillLevel, key=lambda level: level.value)
    assert vocab.SKILL_LEVEL_ORDER == tuple(level.name.lower() for level in by_value)
    for code in vocab.SKILL_LEVEL_ORDER:
        SkillLevel.from_code(code)


# --------------------------------------------------------------------------------------------------
# The five seed policies
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CITIES)
def test_each_city_file_loads(code: str) -> None:
    policy = load(code)
    assert policy.code == code
    assert policy.source_name == f"{code}.toml"
    assert len(policy.sha256) == 64
    assert policy.stages[0] in {"formal_review", "aggregation"}
    assert "expert_review" in policy.stages
    assert sum(c.weight for c in policy.expert_rubric.criteria) == 100
    assert policy.expert_rubric.is_bureau_setting
    assert policy.review.durations.is_bureau_setting
    assert policy.reminders.offsets_days == (30, 7, 1)
    assert policy.jurisdiction.districts


def _walk(obj: Any, path: str = "policy") -> list[tuple[str, Sourced]]:
    found: list[tuple[str, Sourced]] = []
    if isinstance(obj, Sourced):
        found.append((path, obj))
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            found += _walk(getattr(obj, f.name), f"{path}.{f.name}")
    elif isinstance(obj, tuple):
        for i, item in enumerate(obj):
            found += _walk(item, f"{path}[{i}]")
    return found


@pytest.mark.parametrize("code", CITIES)
def test_every_rule_cites_an_article_or_is_marked_a_bureau_setting(code: str) -> None:
    rules = _walk(load(code))
    assert len(rules) > 40
    for path, rule in rules:
        assert rule.source in {"seed", "bureau"}, path
        assert rule.article or rule.source == "bureau", path


def test_pingdingshan_matches_the_seed() -> None:
    p = load("pingdingshan")
    assert p.stages == ("formal_review", "expert_review", "decision")
    assert p.formal_review_level == "city"
    assert p.notice_working_days is None and not p.has_stage("notice")
    assert p.eligible_org_kinds == ("enterprise", "vocational_school")
    assert p.eligibility.org_kinds.open_ended  # 第三条 “等”
    # 第三条: 技师及以上, 未到法定退休年龄, 50㎡, 非遗传承人放宽等级和年龄
    assert p.min_leader_level == "technician"
    assert p.eligibility.leader.level_meets("senior_technician")
    assert not p.eligibility.leader.level_meets("senior")
    (waiver,) = p.eligibility.leader.waivers
    assert set(waiver.waives) == {"skill_level", "age"} and waiver.article == "第三条"
    assert p.eligibility.leader.retirement is not None
    assert p.eligibility.leader.retirement.min_years_before == 0 and p.eligibility.leader.retirement.strict
    assert p.min_site_area_m2("enterprise") == 50
    assert p.training_minimum("apprentices") == 30
    assert p.training_minimum("high_skill_apprentices") == 10
    assert p.plan_deadline(2025) == date(2025, 4, 30)  # 第八条(五)
    assert p.assessment_cycle_years == 1 and p.assessment_date(2025) == date(2025, 12, 15)  # 第十三条 12月中旬
    assert p.consecutive_failures_to_revoke == 2  # 第十四条(四)
    assert p.sanction_ban_years == 3  # 第十四条
    grant = p.subsidy("construction_grant")
    assert grant is not None and grant.amount_yuan == 100000 and not grant.is_cap  # 第十条
    assert [t.trigger for t in grant.tranches] == ["midterm_acceptance", "final_acceptance"]
    assert [m.kind for m in p.acceptance.milestones] == ["midterm", "final"]
    assert p.revocation.decided_by.joint_with == ("finance", "education")  # 第十五条
    assert {g.code for g in p.revocation.fraud_grounds} == {"false_materials", "falsified_results"}
    assert len(p.revocation.grounds) == 7
    assert p.plaque_timing == "establishment" and p.plaque.is_bureau_setting
    assert p.naming.is_bureau_setting
    assert [m.code for m in p.materials_for("enterprise")].count("enrolment_count") == 0
    assert "enrolment_count" in [m.code for m in p.materials_for("vocational_school")]
    assert p.effective_from_source == "bureau"  # 原文未载印发日期
    assert {d.code: d.name for d in p.jurisdiction.districts}["410402"] == "新华区"


def test_zhengzhou_matches_the_seed() -> None:
    z = load("zhengzhou")
    assert z.document_number == "郑人社〔2018〕34号"
    assert z.effective_from == date(2018, 10, 9) and z.effective_until is None
    assert z.stages == ("aggregation", "expert_review", "decision")  # 第七条
    assert z.formal_review_level == "agency"
    decision = z.stage("decision")
    assert decision is not None and decision.body == "郑州市全民技能振兴工程领导小组"
    assert [c.code for c in z.categories] == ["modern_tech", "traditional_craft", "cultural_creative"]
    # 第九条(一): 8/6/4, ≥50% newly certified; (三) ≥2 activities; (四) ≥1 competition
    assert [z.training_minimum("high_skill_trained", c) for c in ("modern_tech", "traditional_craft",
                                                                   "cultural_creative")] == [8, 6, 4]
    share = z.training.indicator("newly_certified_share")
    assert share is not None and share.minimum == 50 and share.unit == "percent" and share.part_of
    assert z.training_minimum("exchange_activities") == 2
    assert z.training_minimum("competitions") == 1
    assert z.training.ich_exception is not None
    assert z.eligibility.leader.title_equivalent and z.eligibility.leader.achievements_needed == 1
    assert z.plan_deadline(2026) == date(2026, 1, 20)  # 第九条(六)
    assert z.plan_aggregation_deadline(2026) == date(2026, 2, 10)  # 第十一条(五)
    assert z.assessment.conducted_by.joint_with == ("finance", "education")  # 第十六条
    assert z.assessment_date(2026) == date(2026, 12, 15)
    grant = z.subsidy("construction_grant")
    assert grant is not None and grant.is_cap  # 第十三条 “不高于”
    assert grant.amount_for(category="modern_tech") == 150000
    assert grant.amount_for(category="traditional_craft") == 100000
    assert grant.amount_for(category="cultural_creative") == 100000
    fund = z.subsidy("work_fund")
    assert fund is not None and (fund.amount_yuan, fund.per, fund.years) == (20000, "year", 3)
    assert fund.trigger == "annual_assessment_pass" and fund.renewable  # 第十三条、第十六条
    assert z.support_period_years == 3
    assert z.plaque_timing == "acceptance" and z.plaque.issued_by == "郑州市全民技能振兴工程领导小组"  # 第十二条
    assert z.consecutive_failures_to_revoke == 2 and z.sanction_ban_years == 3  # 第十七条
    assert z.revocation.decided_by.joint_with == ("finance", "education")  # 第十八条
    assert z.round_open(date(2026, 11, 22))


def test_dongguan_matches_the_seed() -> None:
    d = load("dongguan")
    assert d.is_draft  # 征求意见稿
    assert d.effective_until == date(2025, 12, 31)  # 第二十条
    # 第九条: 形式审查 → 第三方评审 → 征求意见 → 公示5个工作日 → 审定授牌
    assert d.stages == ("formal_review", "expert_review", "opinion", "notice", "decision")
    expert = d.stage("expert_review")
    assert expert is not None and expert.third_party
    assert d.formal_review_level == "district"
    assert d.notice_working_days == 5 and not d.notice_days_is_minimum
    assert d.review.notice is not None and d.review.notice.reserve_substitution
    assert d.rounds_per_year == 1 and d.review.intake.article == "第六条、第九条"
    assert d.review.submission.online
    assert set(d.eligible_org_kinds) == {"enterprise", "association", "training_institution", "training_base"}
    assert d.min_site_area_m2("association") == 1000
    assert d.min_site_area_m2("training_base") == 1000
    assert d.min_site_area_m2("enterprise") is None
    retirement = d.eligibility.leader.retirement
    assert retirement is not None and retirement.min_years_before == 3 and not retirement.strict  # “一般”
    assert d.eligibility.one_per_legal_entity is not None  # 第七条
    assert d.eligibility.dishonesty_exclusion is not None  # 第十九条
    assert d.eligibility.project is not None and d.eligibility.project.min_projects == 1  # 第六条(三)
    assert [c.code for c in d.categories] == ["a", "b", "c"]
    reward = d.subsidy("acceptance_reward")
    assert reward is not None and [reward.amount_for(category=c) for c in "abc"] == [400000, 300000, 200000]
    assert {s.code: s.amount_yuan for s in d.subsidies if s.amount_yuan} == {
        "startup_fund": 100000,
        "provincial_upgrade": 200000,
        "national_upgrade": 300000,
        "leader_reward": 50000,
        "member_reward": 20000,
        "textbook_reward": 30000,
    }
    member = d.subsidy("member_reward")
    assert member is not None and member.max_persons == 5 and member.per == "person"
    cert = d.subsidy("certification_reward")
    assert cert is not None
    assert [cert.amount_for(level=lv) for lv in ("senior", "technician", "senior_technician")] == [2000, 5000, 10000]
    assert {s.code for s in d.subsidies_on("final_acceptance")} == {"acceptance_reward", "leader_reward",
                                                                    "member_reward"}
    assert d.support_period_years == 3  # 第十四条
    milestones = {m.code: m for m in d.acceptance.milestones}
    assert milestones["setup"].due_months == 6 and milestones["setup"].due_source == "seed"  # 第十四条
    assert milestones["progress_report"].min_count == 1  # 第十六条
    assert milestones["third_party_evaluation"].third_party  # 第十七条
    assert milestones["final"].due_months == 36
    assert d.assessment_cycle_years is None and d.plan_deadline(2025) is None
    assert d.sanction_ban_years is None
    assert d.revocation.decided_by.body == "东莞市人力资源和社会保障局"
    assert d.jurisdiction.level_label == "镇街（园区）"
    towns = {x.code: x for x in d.jurisdiction.districts}
    assert towns["441900003"].name == "东城街道" and towns["441900003"].kind == "street"
    assert towns["441900121"].name == "虎门镇" and towns["441900121"].kind == "town"
    # Expired: no new round once 第二十条's end date has passed.
    assert d.round_open(date(2025, 12, 31))
    assert not d.round_open(date(2026, 1, 1))
    assert not d.is_in_force(date(2026, 1, 1))


def test_wenzhou_matches_the_seed() -> None:
    w = load("wenzhou")
    assert w.document_number == "温人社发〔2013〕200号" and w.effective_from == date(2013, 5, 8)
    assert w.stages == ("formal_review", "expert_review", "decision")  # 第五条
    assert w.formal_review_level == "district" and w.formal_review_checks_originals
    expert = w.stage("expert_review")
    assert expert is not None and expert.joint_with == ("talent_office", "finance")
    assert w.name_format == "温州市{leader}{occupation}技能大师工作室"  # 第五条(一)2
    assert w.studio_name(leader="张三", occupation="钳工") == "温州市张三钳工技能大师工作室"
    assert w.min_education_fund_percent("enterprise") == 30  # 第四条(二)
    assert w.min_education_fund_percent("vocational_school") is None
    assert w.training_minimum("young_backbone") == 5  # 第三条(二)
    indicator = w.training.indicator("young_backbone")
    assert indicator is not None and indicator.level == "intermediate"
    assert w.assessment_cycle_years == 2  # 第七条(二)
    assert w.assessment.date_source == "bureau"
    scoring = w.assessment.scoring
    assert scoring is not None and scoring.total == 100 and scoring.bonus_cap == 10
    assert [(s.label, s.points) for s in scoring.sections] == [
        ("制度建设", 20), ("保障建设", 20), ("技术攻关", 20), ("带徒传艺", 15), ("技术研发", 10), ("技术交流", 15),
    ]
    assert sum(len(s.items) for s in scoring.sections) == 20
    assert all(sum(i.points for i in s.items) == s.points for s in scoring.sections)
    office = next(i for s in scoring.sections for i in s.items if i.code == "office_space")
    assert office.points == 6 and "30平方" in office.label
    grade = w.assessment.grade_for
    assert [grade(s).label for s in (100, 90, 89, 80, 79, 60, 59, 0)] == [
        "优秀", "优秀", "良好", "良好", "合格", "合格", "不合格", "不合格",
    ]
    assert w.leader_change.on_departure == "revoke"  # 第七条(四)4
    assert "leader_departure" in {g.code for g in w.revocation.grounds}
    assert w.subsidy("construction_grant") is not None
    assert w.subsidy("construction_grant").amount_yuan == 30000  # type: ignore[union-attr]
    assert w.plaque.joint_with == ("talent_office", "finance")  # 第五条(三)
    assert w.review.submission.paper_copies == 2
    assert not w.acceptance.milestones
    assert w.notice_working_days is None


def test_hohhot_matches_the_seed() -> None:
    h = load("hohhot")
    assert h.stages == ("formal_review", "expert_review", "decision", "notice")  # 第九条
    assert h.formal_review_level == "city"
    expert = h.stage("expert_review")
    assert expert is not None and expert.site_visit  # 实地审核评估
    decision = h.stage("decision")
    assert decision is not None and "局长办公会" in decision.body
    assert h.notice_working_days == 5 and h.notice_days_is_minimum  # “不少于5个工作日”
    assert h.yearly_quota == 10  # 第四条
    assert h.name_format == "呼和浩特市{leader}技能大师工作室"  # 附件3
    assert h.min_leader_level == "senior"
    assert h.min_education_fund_percent("enterprise") == 50  # 第七条(二)
    assert h.min_education_fund_percent("training_institution") is None
    assert h.training_minimum("young_backbone") == 3
    indicator = h.training.indicator("young_backbone")
    assert indicator is not None and indicator.maximum == 5
    assert h.training_minimum("senior_certified") == 2
    fund = h.subsidy("training_project_fund")
    assert fund is not None and fund.amount_yuan == 50000 and fund.subject_to_budget  # 视财政配套资金情况
    assert h.leader_change.on_departure == "reapprove" and h.leader_change.article == "第十二条(二)"
    assert "局长办公会" in h.revocation.decided_by.body
    assert h.assessment_cycle_years == 2
    assert h.review.submission.paper_copies == 3  # 第八条 一式三份
    assert h.jurisdiction.level_label == "旗县区"
    kinds = {x.name: x.kind for x in h.jurisdiction.districts}
    assert kinds["土默特左旗"] == "banner" and kinds["新城区"] == "district"


def test_has_stage_refuses_an_unknown_stage_name() -> None:
    with pytest.raises(ValueError):
        load("zhengzhou").has_stage("formal_reveiw")


# --------------------------------------------------------------------------------------------------
# A sixth city from a file alone
# --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sixth_city_loads_from_its_file_alone() -> None:
    out = StringIO()
    call_command("loadpolicies", str(TESTVILLE), stdout=out)
    assert "testville.toml" in out.getvalue() and "测试市" in out.getvalue()

    city = City.objects.get(code="testville")
    assert city.name == "测试市" and city.bureau_name == "测试市人力资源和社会保障局"
    assert set(city.districts.values_list("code", "kind")) == {("T001", "district"), ("T002", "park")}

    t = get_policy("testville", date(2025, 3, 1))
    assert t.stages == ("formal_review", "expert_review", "opinion", "decision", "notice")
    assert t.notice_working_days == 7 and t.rounds_per_year == 2 and t.yearly_quota == 4
    assert t.studio_name(leader="李四", org="某厂") == "测试市某厂李四技能大师工作室"
    assert t.min_site_area_m2("university") == 200 and t.min_site_area_m2("enterprise") == 80
    assert t.training_minimum("trained", "x") == 12
    assert t.plan_deadline(2025) == date(2025, 3, 31)
    assert t.reminders.offsets_days == (14, 1)
    assert t.consecutive_failures_to_revoke == 3 and t.sanction_ban_years == 5
    with pytest.raises(PolicyNotFound):
        get_policy("testville", date(2029, 1, 1))


# --------------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------------


def _testville() -> dict[str, Any]:
    return tomllib.loads(TESTVILLE.read_text(encoding="utf-8"))


def _expect_error(data: dict[str, Any], key: str, rule_fragment: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        policy_from_data(data, source_name="testville.toml")
    err = info.value
    assert err.file == "testville.toml"
    assert err.key == key, str(err)
    assert rule_fragment in err.rule, str(err)
    assert str(err) == f"testville.toml: {key}: {err.rule}"
    return err


def test_the_fixture_itself_is_valid() -> None:
    policy_from_data(_testville(), source_name="testville.toml")


def test_missing_key() -> None:
    data = _testville()
    del data["city"]["bureau_name"]
    _expect_error(data, "city.bureau_name", "缺少必填项")


def test_missing_section() -> None:
    data = _testville()
    del data["revocation"]
    _expect_error(data, "revocation", "缺少必填项")


def test_wrong_type() -> None:
    data = _testville()
    data["review"]["notice"]["working_days"] = "五"
    _expect_error(data, "review.notice.working_days", "必须是正整数")


def test_bool_is_not_an_integer() -> None:
    data = _testville()
    data["review"]["intake"]["rounds_per_year"] = True
    _expect_error(data, "review.intake.rounds_per_year", "必须是正整数")


def test_unknown_stage() -> None:
    data = _testville()
    data["review"]["stages"][2]["name"] = "hearing"
    _expect_error(data, "review.stages[2].name", "未知的审查环节“hearing”")


def test_stage_order_is_checked() -> None:
    data = _testville()
    stages = data["review"]["stages"]
    stages[1], stages[4] = stages[4], stages[1]  # notice before expert_review
    _expect_error(data, "review.stages[1].name", "必须排在 expert_review 之后")


def test_notice_stage_needs_its_table() -> None:
    data = _testville()
    del data["review"]["notice"]
    _expect_error(data, "review.notice", "必须提供 [review.notice]")


def test_duration_for_a_stage_the_city_lacks() -> None:
    data = _testville()
    data["review"]["durations"]["aggregation"] = 5
    _expect_error(data, "review.durations.aggregation", "不在 review.stages 中")


def test_effective_until_before_effective_from() -> None:
    data = _testville()
    data["document"]["effective_until"] = date(2023, 12, 31)
    _expect_error(data, "document.effective_until", "不能早于 effective_from")


def test_unknown_skill_level() -> None:
    data = _testville()
    data["eligibility"]["leader"]["min_level"] = "master"
    _expect_error(data, "eligibility.leader.min_level", "未知的技能等级“master”")


def test_unknown_skill_level_in_a_training_indicator() -> None:
    data = _testville()
    data["training"]["indicators"][0]["level"] = "grandmaster"
    _expect_error(data, "training.indicators[0].level", "未知的技能等级")


def test_seed_rule_without_article() -> None:
    data = _testville()
    del data["naming"]["article"]
    _expect_error(data, "naming.article", "必须注明条款")


def test_misspelt_key_is_not_ignored() -> None:
    data = _testville()
    data["review"]["notice"]["working_day"] = 5
    _expect_error(data, "review.notice.working_day", "未知的键")


def test_unknown_category_in_by_category() -> None:
    data = _testville()
    data["subsidies"][0]["by_category"]["z"] = 1
    _expect_error(data, "subsidies[0].by_category.z", "未知的类别代码“z”")


def test_org_kind_outside_eligible_kinds() -> None:
    data = _testville()
    data["eligibility"]["site_area"]["by_org_kind"]["association"] = 1000
    _expect_error(data, "eligibility.site_area.by_org_kind.association", "不在 eligibility.org_kinds.kinds 中")


def test_rubric_weights_must_sum_to_100() -> None:
    data = _testville()
    data["expert_rubric"]["criteria"][0]["weight"] = 50
    _expect_error(data, "expert_rubric.criteria", "权重之和必须为 100，当前为 90")


def test_duplicate_codes() -> None:
    data = _testville()
    data["materials"].append(copy.deepcopy(data["materials"][0]))
    _expect_error(data, "materials[2].code", "重复的代码")


def test_plaque_after_acceptance_needs_an_acceptance() -> None:
    data = _testville()
    del data["acceptance"]["milestones"]
    _expect_error(data, "plaque.timing", "kind = \"final\"")


def test_revocation_streak_and_grounds_must_agree() -> None:
    data = _testville()
    del data["assessment"]["failure"]["consecutive_to_revoke"]
    _expect_error(data, "assessment.failure.consecutive_to_revoke", "consecutive_assessment_failures")


def test_name_format_placeholders() -> None:
    data = _testville()
    data["naming"]["format"] = "测试市{name}技能大师工作室"
    _expect_error(data, "naming.format", "未知的占位符")


def test_impossible_plan_date() -> None:
    data = _testville()
    data["annual_plan"]["month"] = 2
    data["annual_plan"]["day"] = 30
    _expect_error(data, "annual_plan.day", "不是每年都有的日期")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "testville.toml"
    bad.write_text(TESTVILLE.read_text(encoding="utf-8").replace('name = "测试市"', 'name = 测试市'), encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy_file(bad)
    assert str(info.value).startswith("testville.toml: (语法): TOML 语法错误")


def test_city_code_must_match_the_file_name(tmp_path: Path) -> None:
    other = tmp_path / "otherville.toml"
    shutil.copy(TESTVILLE, other)
    with pytest.raises(PolicyError) as info:
        load_policy_file(other)
    assert str(info.value) == 'otherville.toml: city.code: 必须与文件名一致（应为 "otherville"）'


@pytest.mark.django_db
def test_loadpolicies_refuses_a_bad_file_and_writes_nothing_for_it(tmp_path: Path) -> None:
    bad = tmp_path / "testville.toml"
    bad.write_text(
        TESTVILLE.read_text(encoding="utf-8").replace('min_level = "senior_technician"', 'min_level = "guru"'),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as info:
        call_command("loadpolicies", str(bad), TESTVILLE, stdout=StringIO(), stderr=StringIO())
    message = str(info.value)
    assert "testville.toml: eligibility.leader.min_level: 未知的技能等级“guru”" in message
    # The good file given after the bad one was still loaded; the bad one wrote nothing of its own.
    assert PolicyVersion.objects.filter(city__code="testville").count() == 1


@pytest.mark.django_db
def test_loadpolicies_writes_no_city_for_an_invalid_sixth_city(tmp_path: Path) -> None:
    bad = tmp_path / "testville.toml"
    bad.write_text(TESTVILLE.read_text(encoding="utf-8").replace("weight = 40", "weight = 41"), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("loadpolicies", str(bad), stdout=StringIO(), stderr=StringIO())
    assert not City.objects.filter(code="testville").exists()
    assert not District.objects.filter(code="T001").exists()


# --------------------------------------------------------------------------------------------------
# Loading, versions and dates
# --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_five_cities_are_loaded_and_reloading_is_a_no_op() -> None:
    # tests/conftest.py loads the bundled files once per session, as a deployment does.
    assert set(City.objects.values_list("code", flat=True)) >= set(CITIES)
    before = list(PolicyVersion.objects.order_by("pk").values_list("pk", "sha256"))
    out = StringIO()
    call_command("loadpolicies", stdout=out)
    assert out.getvalue().count("内容未变") == len(CITIES)
    assert list(PolicyVersion.objects.order_by("pk").values_list("pk", "sha256")) == before
    assert District.objects.filter(city__code="zhengzhou", code="410105", name="金水区").exists()


@pytest.mark.django_db
def test_same_version_with_different_content_is_refused(tmp_path: Path) -> None:
    call_command("loadpolicies", str(TESTVILLE), stdout=StringIO())
    changed = tmp_path / "testville.toml"
    changed.write_text(TESTVILLE.read_text(encoding="utf-8").replace("working_days = 7", "working_days = 8"),
                       encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("loadpolicies", str(changed), stdout=StringIO(), stderr=StringIO())
    assert "testville.toml: document.version" in str(info.value)
    assert "提高 version" in str(info.value)
    assert get_policy("testville", date(2025, 1, 1)).notice_working_days == 7


@pytest.mark.django_db
def test_a_new_version_is_picked_up_and_the_old_one_kept(tmp_path: Path) -> None:
    call_command("loadpolicies", str(TESTVILLE), stdout=StringIO())
    v1 = get_policy("testville", date(2026, 6, 1))
    assert v1.version == "1" and get_policy("testville", date(2026, 6, 1)) is v1  # cached

    v2_file = tmp_path / "testville.toml"
    v2_file.write_text(
        TESTVILLE.read_text(encoding="utf-8")
        .replace('version = "1"', 'version = "2"')
        .replace("effective_from = 2024-01-01", "effective_from = 2026-01-01")
        .replace("working_days = 7", "working_days = 10"),
        encoding="utf-8",
    )
    call_command("loadpolicies", str(v2_file), stdout=StringIO())
    assert get_policy("testville", date(2026, 6, 1)).version == "2"
    assert get_policy("testville", date(2026, 6, 1)).notice_working_days == 10
    assert get_policy("testville", date(2025, 6, 1)).version == "1"
    assert get_policy_version("testville", "1").notice_working_days == 7


@pytest.mark.django_db
def test_stored_policy_equals_the_file() -> None:
    for code in CITIES:
        assert get_policy_version(code, "1") == load(code)


@pytest.mark.django_db
def test_expired_policy(tmp_path: Path) -> None:
    # 东莞 第二十条: 有效期至2025年12月31日止.
    in_force = get_policy("dongguan", date(2025, 6, 1))
    assert in_force.round_open(date(2025, 6, 1))
    with pytest.raises(PolicyNotFound) as info:
        get_policy("dongguan", date(2026, 1, 1))
    assert "dongguan" in str(info.value) and "2026-01-01" in str(info.value)
    # Studios set up under the expired version are still managed under it.
    assert get_policy_version("dongguan", "1").effective_until == date(2025, 12, 31)

    # Loading the successor document (a new version) opens rounds again.
    successor = tmp_path / "dongguan.toml"
    successor.write_text(
        (POLICY_DIR / "dongguan.toml").read_text(encoding="utf-8")
        .replace('version = "1"', 'version = "2"')
        .replace("effective_from = 2024-01-01", "effective_from = 2026-01-01")
        .replace("effective_until = 2025-12-31\n", ""),
        encoding="utf-8",
    )
    call_command("loadpolicies", str(successor), stdout=StringIO())
    current = get_policy("dongguan", date(2026, 11, 22))
    assert current.version == "2" and current.effective_until is None
    assert current.round_open(date(2026, 11, 22))
    assert get_policy("dongguan", date(2025, 6, 1)).version == "1"


@pytest.mark.django_db
def test_unknown_city() -> None:
    with pytest.raises(PolicyNotFound):
        get_policy("atlantis", date(2025, 1, 1))
    with pytest.raises(PolicyNotFound):
        get_policy_version("zhengzhou", "99")

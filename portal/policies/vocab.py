"""Fixed vocabularies that policy files may use.

Every city file picks values from these lists; code elsewhere branches on the *values* (for
example ``policy.has_stage("notice")``), never on the city.  Adding a word here is a code change,
reviewed like one: a sixth city whose rules fit these words needs no code at all.

Labels are the Chinese terms the five seed policies use, so that screens and error messages read
like the documents the bureau staff know.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Review stages, in the order they usually run.  The order of a city's own list is its own
# (东莞 第九条 puts 审定授牌 after the notice; 呼和浩特 第九条 decides before the notice), so this
# tuple only gives the canonical spelling and a display label.
STAGES: dict[str, str] = {
    "formal_review": _("形式审查"),
    "aggregation": _("汇总报送"),
    "expert_review": _("专家评审"),
    "opinion": _("征求意见"),
    "decision": _("研究决定"),
    "notice": _("公示"),
}

# Who checks the paperwork first: a district bureau (温州 第五条(一), 东莞 第九条(二)), the city's
# training-service agency (郑州 第七条) or the city bureau itself (呼和浩特 第九条(一)).
FORMAL_REVIEW_LEVELS: dict[str, str] = {
    "district": _("县区/镇街人社部门"),
    "agency": _("市级经办机构"),
    "city": _("市人社局"),
}

# Kinds of host organisation (依托单位/申报主体).
ORG_KINDS: dict[str, str] = {
    "enterprise": _("企业"),
    "vocational_school": _("职业（技工）院校"),
    "association": _("行业协会/社会团体"),
    "training_institution": _("职业技能培训机构"),
    "training_base": _("公共实训基地/高技能人才培训基地"),
    "university": _("高等院校"),
    "research": _("科研机构/行业研发中心"),
}

# Skill levels in ascending order: the position is what "技师及以上" compares against.
# 国家职业技能标准 numbers them 五级 (初级工) … 一级 (高级技师); 特级技师 and 首席技师 sit above
# 高级技师 in the 新八级 ladder (人社部发〔2022〕14号).
SKILL_LEVELS: dict[str, str] = {
    "junior": _("初级工"),
    "intermediate": _("中级工"),
    "senior": _("高级工"),
    "technician": _("技师"),
    "senior_technician": _("高级技师"),
    "special_technician": _("特级技师"),
    "chief_technician": _("首席技师"),
}
SKILL_LEVEL_ORDER: tuple[str, ...] = tuple(SKILL_LEVELS)

# Must equal portal.models.geo.District.Kind (a test checks it), so that a file that validates
# can always be stored.
DISTRICT_KINDS: dict[str, str] = {
    "district": _("区"),
    "county": _("县"),
    "county_city": _("县级市"),
    "banner": _("旗"),
    "town": _("镇"),
    "street": _("街道"),
    "park": _("园区"),
}

# Departments a body acts "会同" with.  Workflow code asks for their sign-off by these codes.
DEPARTMENTS: dict[str, str] = {
    "finance": _("财政部门"),
    "education": _("教育部门"),
    "talent_office": _("人才工作领导小组办公室"),
    "related_departments": _("有关部门（市直相关部门）"),
    "industry_authority": _("行业主管部门"),
}

# What a waiver (放宽/破格) relaxes.
WAIVABLE: dict[str, str] = {
    "skill_level": _("职业资格（技能等级）"),
    "age": _("年龄"),
    "achievements": _("业绩条件"),
}

# What a studio records in its ledger (workshops.models.StudioRecord.kind); an indicator names the
# kinds it counts, so a new city's indicator needs no code.
RECORD_KINDS: dict[str, str] = {
    "apprentice": _("以师带徒"),
    "trainee": _("培训学员"),
    "activity": _("研讨、推广、交流活动"),
    "competition": _("技能竞赛"),
    "achievement": _("技术成果"),
    "textbook": _("出版教材"),
}

TRAINING_UNITS: dict[str, str] = {
    "person": _("人"),
    "activity": _("次"),
    "percent": _("%"),
}

# Milestones between establishment and the end of the support/cultivation period.
MILESTONE_KINDS: dict[str, str] = {
    "setup": _("组建完善"),
    "progress_report": _("工作开展情况报告"),
    "evaluation": _("绩效评价"),
    "midterm": _("中期验收"),
    "final": _("终期（期满）验收"),
}

PLAQUE_TIMINGS: dict[str, str] = {
    "establishment": _("确定设立时授牌"),
    "acceptance": _("验收合格后授牌"),
}

SUBSIDY_TRIGGERS: dict[str, str] = {
    "establishment": _("确定设立"),
    "midterm_acceptance": _("中期验收通过"),
    "final_acceptance": _("终期（期满）验收合格"),
    "annual_assessment_pass": _("年度考核合格"),
    "provincial_upgrade": _("评为省级技能大师工作室"),
    "national_upgrade": _("评为国家级技能大师工作室"),
    "textbook_published": _("教材正式出版"),
    "certification": _("培养人员取得职业技能等级证书"),
}

SUBSIDY_RECIPIENTS: dict[str, str] = {
    "studio": _("工作室（所在单位）"),
    "leader": _("领办人"),
    "member": _("团队成员"),
}

SUBSIDY_PER: dict[str, str] = {
    "once": _("一次性"),
    "year": _("每年"),
    "person": _("每人"),
    "item": _("每项"),
}

REVOCATION_CONSEQUENCES: dict[str, str] = {
    "notify": _("予以通报"),
    "revoke_title": _("取消称号（资格）"),
    "recover_equipment": _("收回政府投入的配套设备"),
    "recover_plaque": _("收回牌匾"),
    "terminate_project": _("终止项目"),
    "stop_subsidies": _("停发补贴奖励"),
    "recover_funds": _("情节严重的追回已发放资金"),
    "recover_unspent_funds": _("收回未实施的项目资金"),
    "legal_liability": _("追究法律责任"),
}

SANCTION_SUBJECTS: dict[str, str] = {
    "organization": _("所在单位"),
    "leader": _("负责人（领办人）"),
}

LEADER_DEPARTURE: dict[str, str] = {
    "reapprove": _("重新确定领办人并报核准"),
    "revoke": _("取消工作室称号"),
}

# Where a rule comes from: the city's policy document ("seed") or a setting the bureau chose
# because the document is silent ("bureau", written `# 非办法规定，局内设置` in the files).
SOURCES: dict[str, str] = {
    "seed": _("办法规定"),
    "bureau": _("局内设置"),
}

# Placeholders a studio-name format may use.
NAME_PLACEHOLDERS: dict[str, str] = {
    "leader": _("领办人姓名"),
    "occupation": _("职业（工种）"),
    "org": _("依托单位名称"),
}

"""The canonical codes of DOMAIN.md §9, shared by every service, pack, message and report.

Each enum value is the wire and file spelling; `LABEL` gives the Chinese a village
worker reads. `CERTIFIED_BY` says which department may certify which status
category: identity certification rejects a list row whose department is not the
one named here, and the policy engine never looks at a category's department.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class Category(StrEnum):
    """A special status (身份) that may entitle a person to a contribution subsidy."""

    EXTREME_POVERTY = "extreme_poverty"
    MINIMUM_LIVING = "minimum_living"
    LOW_INCOME_MARGINAL = "low_income_marginal"
    ORPHAN = "orphan"
    UNSUPPORTED_CHILD = "unsupported_child"
    POVERTY_MONITORING = "poverty_monitoring"
    RELAPSED_POVERTY = "relapsed_poverty"
    LIFTED_FROM_POVERTY = "lifted_from_poverty"
    ENTITLED_VETERAN = "entitled_veteran"
    SEVERE_DISABILITY = "severe_disability"
    ONLY_CHILD_FAMILY = "only_child_family"
    DAUGHTER_FAMILY = "daughter_family"
    ONLY_SON_FAMILY = "only_son_family"


class MonitoringSubtype(StrEnum):
    """The kind of household a 防止返贫监测对象 (`poverty_monitoring`) belongs to (监测类型, DOMAIN.md §2).

    Kept beside the status, not a category of its own: a department certifies the one
    category, and a policy that pays the kinds differently reads the subtype."""

    UNSTABLE_LIFTED = "unstable_lifted"      # 脱贫不稳定户
    MARGINAL_AT_RISK = "marginal_at_risk"    # 边缘易致贫户
    SUDDEN_HARDSHIP = "sudden_hardship"      # 突发严重困难户


class Department(StrEnum):
    CIVIL_AFFAIRS = "civil_affairs"
    AGRICULTURE = "agriculture"
    VETERANS = "veterans"
    DISABILITY_FEDERATION = "disability_federation"
    HEALTH = "health"
    EDUCATION = "education"
    PUBLIC_SECURITY = "public_security"
    TAX = "tax"
    MEDICAL_INSURANCE = "medical_insurance"


# How a receipt's money was paid (缴费渠道): a Literal, not an enum, because every receipt of the December peak
# is validated against it and pydantic checks a Literal of strings fastest.
PaymentChannel = Literal["wechat", "alipay", "bank", "tax_hall", "village_agent", "app"]
PAYMENT_CHANNELS: tuple[str, ...] = get_args(PaymentChannel)


class EnrollmentKind(StrEnum):
    """How a person comes to enrol; the special kinds may pay outside the collection period.

    A kind is how and when someone comes to pay, not a subsidised status: the groups the
    seeds only let enrol outside the period (a discharged soldier's spouse, a fisherman who
    gave up fishing, a person with a severe mental disorder, a new graduate back from another
    province, a person out of contact who reappears) are kinds; a subsidy comes only from a
    `Category` a department certifies.
    """

    GENERAL = "general"
    NEWBORN = "newborn"
    MIGRANT_WORKER = "migrant_worker"
    EMPLOYEE_LAPSE = "employee_lapse"
    DISCHARGED_SOLDIER = "discharged_soldier"
    RELEASED_PRISONER = "released_prisoner"
    COMMUNITY_CORRECTION = "community_correction"
    UNIVERSITY_STUDENT = "university_student"
    SCHOOL_STUDENT = "school_student"
    WELFARE_INSTITUTION_CHILD = "welfare_institution_child"
    VULNERABLE_LATE = "vulnerable_late"
    MILITARY_SPOUSE = "military_spouse"                  # 随军未就业配偶 (000 L157-158, 004 L32)
    RETIRED_FISHER = "retired_fisher"                    # 退捕渔民 (000 L159-163)
    SEVERE_MENTAL_DISORDER = "severe_mental_disorder"    # 严重精神障碍患者 (000 L165-167)
    RETURNING_GRADUATE = "returning_graduate"            # 应届外省毕业回陕大学生 (004 L32)
    LOST_CONTACT = "lost_contact"                        # 失联人员 (004 L32)


class FundingSource(StrEnum):
    """Who pays a subsidy line: each source is totalled and transferred to the fund separately."""

    MEDICAL_ASSISTANCE = "medical_assistance"
    FINANCE = "finance"
    VETERANS = "veterans"
    DISABILITY_FEDERATION = "disability_federation"
    WELFARE_INSTITUTION = "welfare_institution"


class Mode(StrEnum):
    """`net`: the tax side collects only the person's share (同缴同补).
    `refund_after`: the person pays in full, the township refunds the subsidy later (先缴后补)."""

    NET = "net"
    REFUND_AFTER = "refund_after"


class RefundReason(StrEnum):
    """Why a paid enrollment is ended and the personal payment asked back (DOMAIN.md §6)."""

    DEATH = "death"
    DUPLICATE_PAYMENT = "duplicate_payment"
    EMPLOYEE_INSURANCE = "employee_insurance"
    OTHER_REGION = "other_region"


CERTIFIED_BY: dict[Category, Department] = {
    Category.EXTREME_POVERTY: Department.CIVIL_AFFAIRS,
    Category.MINIMUM_LIVING: Department.CIVIL_AFFAIRS,
    Category.LOW_INCOME_MARGINAL: Department.CIVIL_AFFAIRS,
    Category.ORPHAN: Department.CIVIL_AFFAIRS,
    Category.UNSUPPORTED_CHILD: Department.CIVIL_AFFAIRS,
    Category.POVERTY_MONITORING: Department.AGRICULTURE,
    Category.RELAPSED_POVERTY: Department.AGRICULTURE,
    Category.LIFTED_FROM_POVERTY: Department.AGRICULTURE,
    Category.ENTITLED_VETERAN: Department.VETERANS,
    Category.SEVERE_DISABILITY: Department.DISABILITY_FEDERATION,
    Category.ONLY_CHILD_FAMILY: Department.HEALTH,
    Category.DAUGHTER_FAMILY: Department.HEALTH,
    Category.ONLY_SON_FAMILY: Department.HEALTH,
}


def categories_of(department: Department) -> frozenset[Category]:
    """The categories `department` may certify (empty for education, tax …)."""
    return frozenset(c for c, d in CERTIFIED_BY.items() if d == department)


LABEL: dict[StrEnum, str] = {
    Category.EXTREME_POVERTY: "特困供养人员",
    Category.MINIMUM_LIVING: "低保对象",
    Category.LOW_INCOME_MARGINAL: "低保边缘家庭成员",
    Category.ORPHAN: "孤儿",
    Category.UNSUPPORTED_CHILD: "事实无人抚养儿童",
    Category.POVERTY_MONITORING: "防止返贫监测对象",
    Category.RELAPSED_POVERTY: "返贫致贫人口",
    Category.LIFTED_FROM_POVERTY: "脱贫人口",
    Category.ENTITLED_VETERAN: "重点优抚对象",
    Category.SEVERE_DISABILITY: "重度残疾人",
    Category.ONLY_CHILD_FAMILY: "独生子女户",
    Category.DAUGHTER_FAMILY: "独女户/双女户",
    Category.ONLY_SON_FAMILY: "独男户",
    MonitoringSubtype.UNSTABLE_LIFTED: "脱贫不稳定户",
    MonitoringSubtype.MARGINAL_AT_RISK: "边缘易致贫户",
    MonitoringSubtype.SUDDEN_HARDSHIP: "突发严重困难户",
    Department.CIVIL_AFFAIRS: "民政",
    Department.AGRICULTURE: "农业农村",
    Department.VETERANS: "退役军人事务",
    Department.DISABILITY_FEDERATION: "残联",
    Department.HEALTH: "卫生健康",
    Department.EDUCATION: "教育",
    Department.PUBLIC_SECURITY: "公安",
    Department.TAX: "税务",
    Department.MEDICAL_INSURANCE: "医保",
    EnrollmentKind.GENERAL: "一般参保人员",
    EnrollmentKind.NEWBORN: "新生儿",
    EnrollmentKind.MIGRANT_WORKER: "外出务工人员",
    EnrollmentKind.EMPLOYEE_LAPSE: "职工医保断保人员",
    EnrollmentKind.DISCHARGED_SOLDIER: "退役军人/征兵退回人员",
    EnrollmentKind.RELEASED_PRISONER: "刑满释放人员",
    EnrollmentKind.COMMUNITY_CORRECTION: "社区矫正对象",
    EnrollmentKind.UNIVERSITY_STUDENT: "大学生",
    EnrollmentKind.SCHOOL_STUDENT: "中小学生/幼儿",
    EnrollmentKind.WELFARE_INSTITUTION_CHILD: "儿童福利机构接收儿童",
    EnrollmentKind.VULNERABLE_LATE: "困难群众补办参保",
    EnrollmentKind.MILITARY_SPOUSE: "随军未就业配偶",
    EnrollmentKind.RETIRED_FISHER: "退捕渔民",
    EnrollmentKind.SEVERE_MENTAL_DISORDER: "严重精神障碍患者",
    EnrollmentKind.RETURNING_GRADUATE: "应届外省毕业回乡大学生",
    EnrollmentKind.LOST_CONTACT: "失联人员",
    FundingSource.MEDICAL_ASSISTANCE: "医疗救助资金",
    FundingSource.FINANCE: "财政资金",
    FundingSource.VETERANS: "退役军人事务部门",
    FundingSource.DISABILITY_FEDERATION: "残联",
    FundingSource.WELFARE_INSTITUTION: "儿童福利机构",
    Mode.NET: "同缴同补（只收个人应缴部分）",
    Mode.REFUND_AFTER: "先缴后补（先全额缴费，之后退补）",
    RefundReason.DEATH: "死亡",
    RefundReason.DUPLICATE_PAYMENT: "重复缴费",
    RefundReason.EMPLOYEE_INSURANCE: "参加职工医保",
    RefundReason.OTHER_REGION: "参加其他统筹区居民医保",
}

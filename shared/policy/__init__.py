"""The region rules of resident medical insurance, as a pure library driven by policy packs.

`assess(scenario)` decides, for one person, region, coverage year and payment:
whether the payment buys cover, what is due, which subsidy applies and who funds
it, when cover starts and ends, waiting periods, the critical-illness cap change
and refund eligibility — each with reasons in Chinese citing the rule. Every
number comes from `packs/<region>-<year>.yaml`; see README.md for the format and
the defaults chosen where the documents are silent.
"""
from shared.codes import Category, Department, EnrollmentKind, FundingSource, Mode, RefundReason
from shared.policy.assessment import Assessment, Reason, RefundDecision, SubsidyLine
from shared.policy.engine import assess
from shared.policy.errors import PolicyError
from shared.policy.loader import available, load_pack, pooling_region_of, standard_fen
from shared.policy.memo import assess_cached
from shared.policy.pack import Pack
from shared.policy.scenario import Person, Scenario, Status, parse_scenario

__all__ = [
    "Assessment", "Category", "Department", "EnrollmentKind", "FundingSource", "Mode", "Pack", "Person",
    "PolicyError", "Reason", "RefundDecision", "RefundReason", "Scenario", "Status", "SubsidyLine",
    "assess", "assess_cached", "available", "load_pack", "parse_scenario", "pooling_region_of", "standard_fen",
]

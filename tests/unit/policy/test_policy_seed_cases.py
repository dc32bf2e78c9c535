"""Cases per region taken from the seed documents; `cite` is the seed file and line.

Each case is a scenario (overrides of conftest.scenario_data: general kind, born
1980, hukou in the region, paying 2024-10-15 for 2025) and the fields expected in
the `yibao quote` JSON.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.unit.policy.builders import quote
from tests.unit.policy.builders import status as s

HY, HQ, SQ, AK = "000", "002", "003", "004"
CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    # --- 怀远县 340321 ---------------------------------------------------------------
    ("hy-general", f"{HY} L75-79, L119-121", "340321", {},
     {"due": 400, "benefit_start": "2025-01-01", "benefit_end": "2025-12-31", "path": "collection"}),
    ("hy-extreme-poverty", f"{HY} L81-85", "340321", {"statuses": [s("extreme_poverty")]},
     {"due": 0, "subsidy_total": 400, "subsidies": [("extreme_poverty", 400, "medical_assistance", "net")]}),
    ("hy-minimum-living", f"{HY} L85-87", "340321", {"statuses": [s("minimum_living")]},
     {"due": 60, "subsidies": [("minimum_living", 340, "medical_assistance", "net")]}),
    ("hy-monitoring", f"{HY} L87-89", "340321", {"statuses": [s("poverty_monitoring")]}, {"due": 200}),
    ("hy-orphan", f"{HY} L89-91", "340321", {"statuses": [s("orphan")]}, {"due": 0}),
    ("hy-veteran-pay-first", f"{HY} L101-103, L111-115", "340321", {"statuses": [s("entitled_veteran")]},
     {"due": 400, "refund_after": 400, "subsidies": [("entitled_veteran", 400, "finance", "refund_after")]}),
    ("hy-daughter-family", f"{HY} L103-107, L111-115", "340321", {"statuses": [s("daughter_family")]},
     {"due": 400, "refund_after": 400}),
    ("hy-only-son-half", f"{HY} L107-115", "340321", {"statuses": [s("only_son_family")]},
     {"due": 400, "refund_after": 200, "subsidies": [("only_son_family", 200, "finance", "refund_after")]}),
    ("hy-highest-wins", f"{HY} L243 (one subsidy per person)", "340321",
     {"statuses": [s("minimum_living"), s("extreme_poverty")]}, {"due": 0, "subsidy_total": 400}),
    ("hy-migrant-extension", f"{HY} L123-127", "340321", {"kind": "migrant_worker", "payment_date": "2025-02-10"},
     {"due": 400, "benefit_start": "2025-02-11", "path": "migrant_extension", "waiting_months": 0}),
    ("hy-newborn-90-days", f"{HY} L133-139", "340321",
     {"kind": "newborn", "born": "2025-03-01", "payment_date": "2025-05-20"},
     {"due": 400, "benefit_start": "2025-03-01", "path": "newborn_90_days"}),
    ("hy-newborn-after-90-days", f"{HY} L139-141", "340321",
     {"kind": "newborn", "born": "2025-03-01", "payment_date": "2025-07-01"},
     {"benefit_start": "2025-07-02", "path": "newborn_under_one"}),
    ("hy-2024-baby-pays-2025", f"{HY} L141-147", "340321",
     {"kind": "newborn", "born": "2024-11-15", "payment_date": "2025-01-20"},
     {"due": 400, "benefit_start": "2025-01-01"}),
    ("hy-2024-baby-pays-2024", f"{HY} L141-147 (380 for 2024)", "340321",
     {"year": 2024, "kind": "newborn", "born": "2024-11-15", "payment_date": "2025-01-20"},
     {"due": 380, "standard": 380, "benefit_start": "2024-11-15", "benefit_end": "2024-12-31"}),
    ("hy-vulnerable-late", f"{HY} L151-163", "340321",
     {"kind": "vulnerable_late", "statuses": [s("minimum_living", "2025-03-01")], "payment_date": "2025-03-05"},
     {"due": 60, "benefit_start": "2025-03-06", "path": "special_groups"}),
    ("hy-released-prisoner", f"{HY} L165-167", "340321",
     {"kind": "released_prisoner", "event_date": "2025-05-01", "payment_date": "2025-05-10"},
     {"benefit_start": "2025-05-11", "waiting_months": 0}),
    ("hy-refund-before-start", f"{HY} L211-219", "340321",
     {"refund_reason": "death", "refund_requested_on": "2024-12-01"}, {"refund": {"eligible": True, "amount": 400}}),
    ("hy-no-refund-after-start", f"{HY} L215-219", "340321",
     {"refund_reason": "employee_insurance", "refund_requested_on": "2025-02-01"}, {"refund": {"eligible": False}}),
    ("hy-not-open-yet", f"{HY} L119", "340321", {"payment_date": "2024-08-15"}, {"allowed": False, "due": 0}),
    # --- 霍邱县 341522 ---------------------------------------------------------------
    ("hq-minimum-living", f"{HQ} L14", "341522", {"statuses": [s("minimum_living")]},
     {"due": 40, "subsidy_total": 360}),
    ("hq-extreme-poverty", f"{HQ} L14", "341522", {"statuses": [s("extreme_poverty")]},
     {"due": 0, "subsidies": [("extreme_poverty", 400, "finance", "net")]}),
    ("hq-monitoring", f"{HQ} L14", "341522", {"statuses": [s("poverty_monitoring")]},
     {"due": 200, "subsidies": [("poverty_monitoring", 200, "finance", "net")]}),
    ("hq-after-reminder-date", f"{HQ} L12 (12-28 is a reminder)", "341522", {"payment_date": "2024-12-30"},
     {"allowed": True, "benefit_start": "2025-01-01", "path": "collection"}),
    ("hq-migrant-extension", f"{HQ} L12", "341522", {"kind": "migrant_worker", "payment_date": "2025-02-28"},
     {"benefit_start": "2025-03-01"}),
    ("hq-newborn", f"{HQ} L12", "341522", {"kind": "newborn", "born": "2024-12-01", "payment_date": "2025-02-15"},
     {"benefit_start": "2025-01-01", "path": "newborn_90_days"}),
    ("hq-wrong-place", f"{HQ} L6-8, L16", "341522", {"hukou": "340321"}, {"allowed": False}),
    ("hq-student-at-school", f"{HQ} L16", "341522", {"hukou": "340321", "kind": "school_student"}, {"allowed": True}),
    # --- 双清区 430502 ---------------------------------------------------------------
    ("sq-minimum-living", f"{SQ} L61", "430502", {"statuses": [s("minimum_living")]},
     {"due": 200, "subsidies": [("minimum_living", 200, "medical_assistance", "net")]}),
    ("sq-marginal", f"{SQ} L61", "430502", {"statuses": [s("low_income_marginal")]}, {"due": 200}),
    ("sq-severe-disability", f"{SQ} L63", "430502", {"statuses": [s("severe_disability")]},
     {"due": 0, "subsidies": [("severe_disability", 400, "finance", "net")]}),
    ("sq-monitoring", f"{SQ} L65", "430502", {"statuses": [s("poverty_monitoring")]},
     {"due": 200, "subsidies": [("poverty_monitoring", 200, "finance", "net")]}),
    ("sq-veteran", f"{SQ} L67", "430502", {"statuses": [s("entitled_veteran")]},
     {"due": 0, "subsidies": [("entitled_veteran", 400, "veterans", "net")]}),
    ("sq-late-pays-1070", f"{SQ} L45, L81", "430502", {"payment_date": "2025-02-10"},
     {"due": 1070, "surcharge": 670, "waiting_days": 90, "benefit_start": "2025-05-11"}),
    ("sq-newborn", f"{SQ} L47", "430502", {"kind": "newborn", "born": "2025-02-01", "payment_date": "2025-04-01"},
     {"due": 400, "benefit_start": "2025-02-01"}),
    ("sq-welfare-child-outside", f"{SQ} L49", "430502",
     {"kind": "welfare_institution_child", "born": "2015-06-01", "event_date": "2025-04-01", "payment_date": "2025-04-10"},
     {"due": 0, "benefit_start": "2025-04-01", "subsidies": [(None, 400, "welfare_institution", "net")]}),
    ("sq-welfare-child-inside", f"{SQ} L49", "430502",
     {"kind": "welfare_institution_child", "born": "2015-06-01", "event_date": "2024-09-10", "statuses": [s("orphan")]},
     {"due": 0, "benefit_start": "2025-01-01", "subsidies": [("orphan", 400, "medical_assistance", "net")]}),
    ("sq-employee-lapse-90-days", f"{SQ} L51", "430502",
     {"kind": "employee_lapse", "event_date": "2025-03-01", "payment_date": "2025-04-15"},
     {"due": 400, "benefit_start": "2025-03-01"}),
    ("sq-employee-lapse-too-late", f"{SQ} L45, L51", "430502",
     {"kind": "employee_lapse", "event_date": "2025-03-01", "payment_date": "2025-06-15"},
     {"due": 1070, "path": "outside_period"}),
    ("sq-discharged-soldier", f"{SQ} L53-55", "430502",
     {"kind": "discharged_soldier", "event_date": "2025-05-20", "payment_date": "2025-06-01"},
     {"due": 400, "benefit_start": "2025-06-01"}),
    ("sq-new-university-student", f"{SQ} L43", "430502",
     {"kind": "university_student", "born": "2006-05-01", "event_date": "2024-09-05", "payment_date": "2024-09-20"},
     {"benefit_start": "2024-09-01", "benefit_end": "2025-12-31"}),
    ("sq-status-outside-period", f"{SQ} L77", "430502",
     {"statuses": [s("minimum_living", "2025-01-15")], "payment_date": "2024-10-01"}, {"due": 400, "refund_after": 0}),
    ("sq-refund", f"{SQ} L83-85", "430502",
     {"refund_reason": "duplicate_payment", "refund_requested_on": "2024-12-15"}, {"refund": {"eligible": True}}),
    # --- 安康市 610900 ---------------------------------------------------------------
    ("ak-minimum-living", f"{AK} L42", "610900", {"statuses": [s("minimum_living")]},
     {"due": 200, "subsidies": [("minimum_living", 200, "medical_assistance", "net")]}),
    ("ak-extreme-poverty", f"{AK} L40", "610900", {"statuses": [s("extreme_poverty")]}, {"due": 0}),
    ("ak-unsupported-child", f"{AK} L40", "610900", {"statuses": [s("unsupported_child")]}, {"due": 0}),
    ("ak-relapsed-as-minimum-living", f"{AK} L44", "610900", {"statuses": [s("relapsed_poverty")]}, {"due": 200}),
    ("ak-highest-wins", f"{AK} L38", "610900", {"statuses": [s("minimum_living"), s("extreme_poverty")]},
     {"due": 0, "subsidies": [("extreme_poverty", 400, "medical_assistance", "net")]}),
    ("ak-county-override", f"{AK} L42", "610924", {"statuses": [s("minimum_living")]},
     {"pooling_region": "610900", "region": "610924", "rules": "counties.610924.subsidies.minimum_living"}),
    ("ak-status-after-payment-ignored", f"{AK} L52", "610900",
     {"statuses": [s("minimum_living", "2024-11-01")], "payment_date": "2024-10-01"}, {"due": 400, "refund_after": 0}),
    ("ak-status-next-year", f"{AK} L56", "610900",
     {"statuses": [s("minimum_living", "2025-02-01")], "payment_date": "2024-10-01"}, {"due": 400}),
    ("ak-collection-ends-12-20", f"{AK} L60", "610900", {"payment_date": "2024-12-21"},
     {"allowed": False}),
    ("ak-supplementary", f"{AK} L62, L68", "610900", {"payment_date": "2025-02-10"},
     {"due": 400, "waiting_months": 3, "benefit_start": "2025-05-10", "path": "supplementary"}),
    ("ak-after-supplementary", f"{AK} L68", "610900", {"payment_date": "2025-04-10"}, {"allowed": False, "due": 0}),
    ("ak-subsidised-late-loses-subsidy", f"{AK} L98", "610900",
     {"statuses": [s("minimum_living")], "payment_date": "2025-04-10"},
     {"due": 400, "subsidies": [], "benefit_start": "2025-05-01", "waiting_months": 0}),
    ("ak-newborn-90-days", f"{AK} L78", "610900", {"kind": "newborn", "born": "2025-03-01", "payment_date": "2025-05-01"},
     {"benefit_start": "2025-03-01"}),
    ("ak-newborn-late-in-birth-year", f"{AK} L78", "610900",
     {"kind": "newborn", "born": "2025-03-01", "payment_date": "2025-07-15"}, {"benefit_start": "2025-08-01"}),
    ("ak-newborn-next-year", f"{AK} L80", "610900",
     {"kind": "newborn", "born": "2024-11-20", "payment_date": "2025-01-10"},
     {"benefit_start": "2025-01-01", "path": "newborn_next_year_90_days"}),
    ("ak-employee-lapse", f"{AK} L74", "610900",
     {"kind": "employee_lapse", "event_date": "2025-03-01", "payment_date": "2025-03-20"},
     {"benefit_start": "2025-04-01", "waiting_months": 0}),
    ("ak-released-prisoner", f"{AK} L32, L96", "610900",
     {"kind": "released_prisoner", "event_date": "2025-06-01", "payment_date": "2025-06-15"},
     {"benefit_start": "2025-07-01"}),
    ("ak-university-student", f"{AK} L88", "610900",
     {"kind": "university_student", "born": "2005-01-01", "payment_date": "2024-10-08"}, {"benefit_start": "2024-10-08"}),
    ("ak-gap-two-years", f"{AK} L108", "610900", {"enrolled_years": [2021, 2022]},
     {"waiting_months": 4, "benefit_start": "2025-05-01"}),
    ("ak-gap-repaired", f"{AK} L108", "610900", {"enrolled_years": [2021, 2022], "paid_back_years": [2024]},
     {"waiting_months": 3, "benefit_start": "2025-04-01"}),
    ("ak-long-gap-floor", f"{AK} L108", "610900",
     {"enrolled_years": [2019, 2020], "paid_back_years": [2022, 2023, 2024]},
     {"waiting_months": 6, "benefit_start": "2025-07-01"}),
    ("ak-cap-continuity-and-zero", f"{AK} L106", "610900",
     {"enrolled_years": [2021, 2022, 2023, 2024], "zero_reimbursement_years": [2024]},
     {"critical_illness_cap_adjustment": 6000}),
    ("ak-cap-after-gap", f"{AK} L106", "610900",
     {"enrolled_years": [2021, 2022], "zero_reimbursement_years": [2022]}, {"critical_illness_cap_adjustment": -3000}),
    ("ak-place-by-residence", f"{AK} L116", "610900", {"hukou": "340321", "residence": "610924"}, {"allowed": True}),
    ("ak-place-neither", f"{AK} L116", "610900", {"hukou": "340321", "residence": "430502"}, {"allowed": False}),
    ("ak-no-refund-after-start", f"{AK} L128", "610900",
     {"refund_reason": "death", "refund_requested_on": "2025-02-01"}, {"refund": {"eligible": False}}),
]


def _actual(out: dict[str, Any], key: str) -> Any:
    if key == "rules":  # the setting the subsidy reason cites
        return next(r["rule"].split()[1].split("（")[0] for r in out["reasons"] if r["code"] == "subsidy_applied")
    if key == "subsidies":
        return [(x["category"], x["amount"], x["funding_source"], x["mode"]) for x in out["subsidies"]]
    return out[key]


@pytest.mark.parametrize(("case", "cite", "region", "given", "expected"), CASES, ids=[c[0] for c in CASES])
def test_seed_case(case: str, cite: str, region: str, given: dict[str, Any], expected: dict[str, Any]) -> None:
    out = quote(region, **given).public_json()
    for key, want in expected.items():
        got = _actual(out, key)
        if isinstance(want, dict):
            got = {k: got[k] for k in want} if got else got
        assert got == want, f"{case} ({cite}): {key} = {got!r}, expected {want!r}; reasons: {[r['text'] for r in out['reasons']]}"

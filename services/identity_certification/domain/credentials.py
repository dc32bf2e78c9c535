"""Who may hold a department credential: a department that certifies some category, for a real region.

Pure: codes in, the reason for a refusal (or None) out.
"""
from __future__ import annotations

from shared.codes import LABEL, Department, categories_of
from shared.regions import is_known


def credential_refusal(department: str, region: str) -> str | None:
    """Why no credential can be issued for this department and region, or None."""
    if department not in {d.value for d in Department}:
        return f"没有“{department}”这个部门代码：可用的有 " + "、".join(d.value for d in Department)
    if not categories_of(Department(department)):
        return f"{LABEL[Department(department)]}部门没有可认定的人员类别，不发身份认定凭证"
    if not (len(region) == 6 and region.isdigit() and is_known(region)):
        return f"“{region}”不是有效的行政区划代码"
    return None

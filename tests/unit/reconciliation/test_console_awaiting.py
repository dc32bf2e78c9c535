"""The console shows every figure a county must still fill in (issue 13 point 7): a provisional default of the
region's pack is listed, with who must fill it in, until the pack has the real figure."""
from __future__ import annotations

from services.reconciliation.console import awaiting_figures


def test_a_county_with_a_provisional_subsidy_figure_sees_it_and_who_must_fill_it_in() -> None:
    """紫阳县 (610924): seed 004 L42 says only that its standard is above 200; the pack holds 200 for now."""
    [found] = [a for a in awaiting_figures("610924", 2025) if a.setting == "counties.610924.subsidies"]
    assert "紫阳县" in found.who and "紫阳县" in found.what


def test_a_region_whose_pack_has_no_provisional_figure_or_no_pack_lists_none() -> None:
    assert awaiting_figures("110101", 2025) == []  # no pack at all


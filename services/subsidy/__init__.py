"""subsidy: what each person owes for a year — the contribution minus the subsidy of the highest
status — recalculated the moment a department posts a change."""

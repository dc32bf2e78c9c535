"""The pure core of reconciliation: matching, enrollment's lifecycle, progress and report figures, file parsing,
exports, charts and the errors it refuses with.

Nothing here reads a clock, a database or a setting: the edges pass them in."""

"""The pure core of reconciliation: matching, progress figures, file parsing, exports, charts.

Nothing here reads a clock, a database or a setting: the edges pass them in."""

"""The pure core of identity certification: row validation and what a submission changes."""

"""The policy packs, one YAML file per region and coverage year (`<region>-<year>.yaml`); see ../README.md."""

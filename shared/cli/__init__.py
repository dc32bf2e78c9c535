"""The `yibao` command line (see main.py)."""

"""Test support code: where the servers come from (see `servers.py`)."""

"""Run the reconciliation service: `python -m services.reconciliation`."""
from services.reconciliation.app import SPEC
from shared.service import serve

serve(SPEC)

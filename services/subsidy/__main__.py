"""Run the subsidy service: `python -m services.subsidy`."""
from services.subsidy.app import SPEC
from shared.service import serve

serve(SPEC)

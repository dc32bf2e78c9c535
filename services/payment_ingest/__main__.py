"""Run the payment ingest service: `python -m services.payment_ingest`."""
from services.payment_ingest.app import SPEC
from shared.service import serve

serve(SPEC)

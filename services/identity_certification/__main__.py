"""Run the identity certification service: `python -m services.identity_certification`."""
from services.identity_certification.app import SPEC
from shared.service import serve

serve(SPEC)

"""Run the enrollment service: `python -m services.enrollment`."""
from services.enrollment.app import SPEC
from shared.service import serve

serve(SPEC)

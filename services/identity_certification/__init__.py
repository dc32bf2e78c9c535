"""identity_certification: departments post who has which special status; the service keeps
each person's status history and announces every change (identity.status-changed)."""

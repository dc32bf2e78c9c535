-- Each refund step keeps the credential holder that recorded it (the credential table itself:
-- shared/migrations/0003_credential.sql), beside the actor the clerk typed.

ALTER TABLE refund_transition ADD COLUMN recorded_by text;

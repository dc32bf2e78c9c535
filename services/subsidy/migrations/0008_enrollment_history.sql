-- The history an enrollment was registered with (issue 13, point 3): earlier years with cover and gap
-- years paid back, from enrollment.registered. They travel on with the due (PayerFacts) so that the tax
-- side can tell a gap year someone pays back (补缴) from one they may not.
ALTER TABLE enrollment ADD COLUMN enrolled_years jsonb NOT NULL DEFAULT '[]';
ALTER TABLE enrollment ADD COLUMN paid_back_years jsonb NOT NULL DEFAULT '[]';

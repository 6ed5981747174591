-- Outbox claims: a deliverer holds the rows it is about to send with a
-- committed write (its run id and an expiry), so two deliverers never send
-- one e-mail even when no lock serialises them (Galera). `queued_at` is when
-- an e-mail was queued or re-queued (its delivery age counts from there);
-- `last_attempt_at` dates the last reply; an operator's discard is recorded
-- with who and why. Runs record their exit code.
ALTER TABLE sigov_alerts_deliveries
  ADD COLUMN claimed_by CHAR(36) NULL,
  ADD COLUMN claim_expires_at DATETIME(6) NULL,
  ADD COLUMN queued_at DATETIME(6) NULL,
  ADD COLUMN last_attempt_at DATETIME(6) NULL,
  ADD COLUMN discarded_by VARCHAR(100) NULL,
  ADD COLUMN discard_reason VARCHAR(500) NULL;
ALTER TABLE sigov_alerts_runs
  ADD COLUMN exit_code SMALLINT NULL;

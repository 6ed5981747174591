-- Delivery claims queued mail in the order never attempted first, then the
-- oldest attempt, then id (mail a relay fault stopped on goes last): this
-- index serves that order without sorting the whole outbox per batch.
ALTER TABLE sigov_alerts_deliveries
  ADD KEY sigov_alerts_deliveries_claim_order (state, last_attempt_at, id);

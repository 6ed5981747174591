-- The ledger and outbox: one row per alert identity (spec R3). The UNIQUE
-- key is the last line of defence against a second row or e-mail.
CREATE TABLE IF NOT EXISTS sigov_alerts_deliveries (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  check_slug VARCHAR(32) NOT NULL,
  kind VARCHAR(30) NOT NULL,
  item_id CHAR(32) NOT NULL,
  recipient_id CHAR(32) NOT NULL,
  period VARCHAR(10) NOT NULL,
  app_table VARCHAR(32) NOT NULL,
  app_id BIGINT NOT NULL,
  address VARCHAR(254) NOT NULL DEFAULT '',
  message_id VARCHAR(255) NOT NULL,
  state VARCHAR(12) NOT NULL,
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  last_reply VARCHAR(1000) NULL,
  next_attempt_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  run_id CHAR(36) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY sigov_alerts_deliveries_identity (check_slug, kind, item_id, recipient_id, period),
  KEY sigov_alerts_deliveries_outbox (state, next_attempt_at),
  KEY sigov_alerts_deliveries_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4

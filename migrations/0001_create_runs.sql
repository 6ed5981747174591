-- One row per check of each run (dry runs are not recorded).
CREATE TABLE IF NOT EXISTS sigov_alerts_runs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  run_id CHAR(36) NOT NULL,
  command VARCHAR(40) NOT NULL,
  check_slug VARCHAR(32) NOT NULL,
  host VARCHAR(255) NOT NULL DEFAULT '',
  pid INT UNSIGNED NOT NULL DEFAULT 0,
  run_instant DATETIME(6) NOT NULL,
  local_date DATE NOT NULL,
  started_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  status VARCHAR(12) NOT NULL,
  rows_created INT UNSIGNED NOT NULL DEFAULT 0,
  emails_sent INT UNSIGNED NOT NULL DEFAULT 0,
  emails_queued INT UNSIGNED NOT NULL DEFAULT 0,
  emails_failed INT UNSIGNED NOT NULL DEFAULT 0,
  skipped INT UNSIGNED NOT NULL DEFAULT 0,
  error VARCHAR(1000) NULL,
  PRIMARY KEY (id),
  KEY sigov_alerts_runs_check (check_slug, status, started_at),
  KEY sigov_alerts_runs_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4

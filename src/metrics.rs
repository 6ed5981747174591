//! node_exporter textfile metrics (docs/design.md §6), written atomically (temp
//! file + rename) from the run ledger, so every command leaves a complete
//! picture whatever it ran.

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDateTime;
use sqlx::Row;

use crate::checks::Check;
use crate::db::Db;
use crate::db::Within;
use crate::error::{Error, Result};
use crate::outbox::DeliveryState;

/// Per-check figures of the latest run and success.
#[derive(Debug, Default, Clone)]
pub struct CheckFigures {
    /// Start of the latest run.
    pub last_run: Option<NaiveDateTime>,
    /// Status of the latest run.
    pub last_status: Option<String>,
    /// End of the latest successful run.
    pub last_success: Option<NaiveDateTime>,
    /// Duration of the latest run.
    pub duration: f64,
    /// Rows created by the latest run.
    pub rows: u64,
    /// E-mails sent by the latest run.
    pub sent: u64,
    /// E-mails rejected or abandoned by the latest run.
    pub failed: u64,
    /// E-mails left queued by the latest run.
    pub queued: u64,
}

/// Reads the latest run and success per check, and the outbox, in two queries.
pub async fn fetch(db: &mut Db) -> Result<(Vec<(Check, CheckFigures)>, u64, u64)> {
    const WHAT: &str = "reading the run history";
    // language=MySQL
    let rows = sqlx::query(
        "SELECT r.check_slug, r.started_at, r.finished_at, r.rows_created, r.emails_sent, r.emails_failed, r.emails_queued,
                (SELECT MAX(COALESCE(s.finished_at, s.started_at)) FROM sigov_alerts_runs s
                  WHERE s.check_slug = r.check_slug AND s.status = ?) AS last_success, r.status
         FROM sigov_alerts_runs r
         JOIN (SELECT check_slug, MAX(id) AS id FROM sigov_alerts_runs GROUP BY check_slug) l ON l.id = r.id",
    )
    .bind(crate::runs::RunStatus::Ok.as_str())
    .fetch_all(db.conn())
    .within(WHAT).await?;
    let mut out: Vec<(Check, CheckFigures)> = Check::ALL.iter().map(|c| (*c, CheckFigures::default())).collect();
    for r in rows {
        let slug: String = r.try_get(0).map_err(|e| Error::db(WHAT, e))?;
        let Some(entry) = out.iter_mut().find(|(c, _)| c.slug() == slug) else { continue };
        let started: NaiveDateTime = r.try_get(1).map_err(|e| Error::db(WHAT, e))?;
        let finished: Option<NaiveDateTime> = r.try_get(2).map_err(|e| Error::db(WHAT, e))?;
        let get = |i: usize| r.try_get::<u32, _>(i).map(u64::from).unwrap_or_default();
        entry.1 = CheckFigures {
            last_run: Some(started),
            last_status: r.try_get(8).ok(),
            last_success: r.try_get(7).map_err(|e| Error::db(WHAT, e))?,
            duration: finished.map(|f| (f - started).as_seconds_f64()).unwrap_or_default(),
            rows: get(3),
            sent: get(4),
            failed: get(5),
            queued: get(6),
        };
    }
    // language=MySQL
    let row = sqlx::query(
        "SELECT COALESCE(SUM(state = ?), 0), COALESCE(SUM(state IN (?, ?)), 0) FROM sigov_alerts_deliveries",
    )
    .bind(DeliveryState::Queued.as_str())
    .bind(DeliveryState::Failed.as_str())
    .bind(DeliveryState::Abandoned.as_str())
    .fetch_one(db.conn())
    .within(WHAT)
    .await?;
    Ok((out, crate::db::count_col(&row, 0), crate::db::count_col(&row, 1)))
}

fn ts(t: Option<NaiveDateTime>) -> f64 {
    t.map(|t| t.and_utc().timestamp_micros() as f64 / 1e6).unwrap_or(0.0)
}

/// Writes the metrics file when configured.
pub async fn write_file(db: &mut Db, cfg: &crate::config::Config, exit: u8) -> Result<()> {
    if let Some(path) = &cfg.metrics_file {
        let (checks, queued, failed) = fetch(db).await?;
        write_atomic(path, &render(&checks, queued, failed, exit))?;
    }
    Ok(())
}

/// Renders the textfile.
pub fn render(checks: &[(Check, CheckFigures)], queued: u64, failed_total: u64, exit_code: u8) -> String {
    let mut o = String::new();
    let mut family = |name: &str, help: &str, value: &dyn Fn(&CheckFigures) -> f64| {
        let _ = writeln!(o, "# HELP sigov_alerts_{name} {help}\n# TYPE sigov_alerts_{name} gauge");
        for (c, f) in checks {
            let _ = writeln!(o, "sigov_alerts_{name}{{check=\"{}\"}} {}", c.slug(), value(f));
        }
    };
    family("last_run_timestamp_seconds", "Start of the latest run of the check (Unix time).", &|f| ts(f.last_run));
    family("last_success_timestamp_seconds", "End of the latest successful run of the check (Unix time).", &|f| {
        ts(f.last_success)
    });
    family("run_duration_seconds", "Duration of the latest run of the check.", &|f| f.duration);
    family("rows_created", "App alert rows created by the latest run of the check.", &|f| f.rows as f64);
    family("emails_sent", "E-mails delivered by the latest run of the check.", &|f| f.sent as f64);
    family("emails_failed", "E-mails rejected or abandoned by the latest run of the check.", &|f| f.failed as f64);
    family("emails_queued", "E-mails the latest run of the check left queued.", &|f| f.queued as f64);
    let _ = writeln!(
        o,
        "# HELP sigov_alerts_outbox_queued E-mails waiting in the outbox.\n# TYPE sigov_alerts_outbox_queued gauge\nsigov_alerts_outbox_queued {queued}"
    );
    let _ = writeln!(
        o,
        "# HELP sigov_alerts_outbox_failed E-mails rejected or abandoned, still in the ledger.\n# TYPE sigov_alerts_outbox_failed gauge\nsigov_alerts_outbox_failed {failed_total}"
    );
    let _ = writeln!(
        o,
        "# HELP sigov_alerts_last_exit_code Exit code of the latest command.\n# TYPE sigov_alerts_last_exit_code gauge\nsigov_alerts_last_exit_code {exit_code}"
    );
    o
}

/// Writes `text` to `path` atomically. A failure is an output error (exit
/// 74): the run's work is done, only its picture is missing.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension(format!("prom.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Output(format!("writing metrics to {}: {e}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textfile_format_has_help_type_and_every_check() {
        let figures: Vec<_> = Check::ALL.iter().map(|c| (*c, CheckFigures { rows: 3, ..Default::default() })).collect();
        let text = render(&figures, 2, 1, 0);
        for c in Check::ALL {
            assert!(text.contains(&format!("sigov_alerts_rows_created{{check=\"{}\"}} 3\n", c.slug())));
        }
        assert!(text.contains("# TYPE sigov_alerts_last_success_timestamp_seconds gauge\n"));
        assert!(text.contains("sigov_alerts_outbox_queued 2\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("sigov_alerts_"), "{line}");
            value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        }
    }
}

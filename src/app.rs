//! The pipeline (docs/design.md §2): the only module that sees the database, SMTP
//! and the clock together.
//! cli → config → lock → read → evaluate → partition → render →
//! [dry run: report] → one transaction per check → deliver → report.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use indicatif::ProgressBar;
use tracing::{Instrument, info, info_span, warn};

use crate::checks::{Alert, Check};
use crate::cli::RunArgs;
use crate::config::Config;
use crate::db::{Db, read};
use crate::delivery;
use crate::error::{self, Error, Result, code};
use crate::ledger::{self, MailPlan, Partition};
use crate::lock::RunLock;
use crate::notify::mail::{Mailer, from_domain};
use crate::notify::render::{Email, MailInput, Renderer};
use crate::report::{AlertReport, CheckReport, DeliveryReport, RunReport};
use crate::runs::{self, Counts, Run, RunStatus};
use crate::signals;

struct Ctx {
    run: Run,
    day: (NaiveDateTime, NaiveDateTime),
    dry_run: bool,
    migrated: bool,
    renderer: Renderer,
    from_domain: String,
}

/// One check. A temporary database failure (deadlock, lock wait timeout)
/// has rolled its transaction back: the check is run once more.
async fn run_check(db: &mut Db, ctx: &Ctx, check: Check) -> Result<CheckReport> {
    match run_check_once(db, ctx, check).await {
        Err(e @ Error::DbTemporary(_)) => {
            info!(error = %e, "temporary database failure: the check is run once more");
            run_check_once(db, ctx, check).await
        }
        other => other,
    }
}

/// Renders the e-mail of every row to create (kept without HTML for the
/// preview when `keep`); a row whose e-mail cannot be rendered is taken out
/// of `part` as a data error (R15).
fn render_checked(ctx: &Ctx, part: &mut Partition, keep: bool) -> (Vec<Option<Email>>, Vec<(Alert, String)>) {
    let mut emails = Vec::new();
    let mut errors = Vec::new();
    for p in std::mem::take(&mut part.create) {
        let email = if p.mail == MailPlan::Send {
            let name = p.alert.recipient.full_name();
            match ctx.renderer.render(&MailInput::from_alert(&p.alert, &name, ctx.run.instant)) {
                Ok(email) => Some(email),
                Err(e) => {
                    errors.push((p.alert, format!("rendering the e-mail: {e}")));
                    continue;
                }
            }
        } else {
            None
        };
        if keep {
            // The preview shows subject and text; the HTML part is not kept.
            emails.push(email.map(|e| Email { html: String::new(), ..e }));
        }
        part.create.push(p);
    }
    (emails, errors)
}

/// Takes the rows the database refused (indices in `part.create`, in
/// order) out of `part` (R15).
fn take_refused(part: &mut Partition, refused: Vec<(usize, String)>) -> Vec<(Alert, String)> {
    let mut out = Vec::with_capacity(refused.len());
    if refused.is_empty() {
        return out;
    }
    let mut refused = refused.into_iter().peekable();
    for (i, p) in std::mem::take(&mut part.create).into_iter().enumerate() {
        match refused.next_if(|(j, _)| *j == i) {
            Some((_, why)) => out.push((p.alert, why)),
            None => part.create.push(p),
        }
    }
    out
}

/// One attempt of a check: evaluate, partition, then preview or record.
async fn run_check_once(db: &mut Db, ctx: &Ctx, check: Check) -> Result<CheckReport> {
    let today = ctx.run.today;
    let alerts = read::candidates(db, check, today).await?;
    let app = read::fetch_app_dedup(db, check, ctx.day).await?;
    let mut report = CheckReport::new(check, None);
    if ctx.dry_run {
        let keys = if ctx.migrated { ledger::fetch_keys(db, check, today, false).await? } else { Default::default() };
        let mut part = ledger::partition(alerts, &app, &keys);
        let (emails, errors) = render_checked(ctx, &mut part, true);
        report.alerts = part.create.iter().zip(emails).map(|(p, e)| AlertReport::new(&p.alert, p.mail, e)).collect();
        report.outcome(&part, &errors);
        return Ok(report);
    }

    // One transaction: the locking ledger read serialises concurrent runs;
    // app rows and ledger rows (the outbox) commit together (R5, R12). Rows
    // that cannot be rendered or written are left out of it (R15).
    db.exec("starting a transaction", "START TRANSACTION").await?;
    let result = async {
        let keys = ledger::fetch_keys(db, check, today, true).await?;
        let mut part = ledger::partition(alerts, &app, &keys);
        let (_, mut errors) = render_checked(ctx, &mut part, false);
        let refused = ledger::record(db, &ctx.run, check, &part.create, &ctx.from_domain).await?;
        errors.extend(take_refused(&mut part, refused));
        Ok::<_, Error>((part, errors))
    }
    .await;
    let (part, errors) = match result {
        Ok(done) => {
            db.exec("committing", "COMMIT").await?;
            done
        }
        Err(e) => {
            let _ = db.exec("rolling back", "ROLLBACK").await;
            return Err(e);
        }
    };
    report.alerts = part.create.iter().map(|p| AlertReport::new(&p.alert, p.mail, None)).collect();
    report.outcome(&part, &errors);
    Ok(report)
}

/// What every real command does after its work: prune old ledger rows,
/// write the metrics file.
async fn finish(db: &mut Db, cfg: &Config, run_id: &str, exit: u8) -> Result<()> {
    ledger::prune(db, cfg.ledger_retention_days).await?;
    runs::prune(db, cfg.ledger_retention_days).await?;
    // The work is recorded and sent by now: a metrics file that cannot be
    // written is a warning and exit 74, not a failed run.
    match crate::metrics::write_file(db, cfg, exit).await {
        Err(Error::Output(why)) => {
            crate::output_failed(&why);
            runs::record_exit(db, run_id, error::merge_exit(exit, code::IOERR)).await
        }
        r => r,
    }
}

/// Runs `checks` as `command`; returns the report (its exit code set).
pub async fn run_checks(
    cfg: &Config,
    command: &str,
    checks: &[Check],
    args: &RunArgs,
    pb: &ProgressBar,
) -> Result<RunReport> {
    let instant = args.at.map(|a| a.with_timezone(&Utc)).unwrap_or_else(Utc::now);
    let (today, day) = runs::business_day(instant, cfg.timezone);
    let target = cfg.database()?;
    let transport = if args.dry_run { None } else { Some(cfg.transport()?) };
    let renderer = Renderer::new(cfg.timezone, &cfg.base_url)?;
    let mailer = transport.map(|t| Mailer::new(cfg, t)).transpose()?;

    let mut db = Db::connect(target).await?;
    let migrated = db.is_migrated().await?;
    if !migrated && !args.dry_run {
        return Err(crate::db::not_migrated());
    }
    let lock = if args.dry_run { None } else { Some(RunLock::acquire(cfg, command).await?) };
    if lock.is_some() {
        runs::close_orphans(&mut db, cfg.database_lock).await?;
    }
    let run = Run::new(command, instant, today);
    let ctx = Ctx { run, day, dry_run: args.dry_run, migrated, renderer, from_domain: from_domain(cfg) };
    let span = info_span!("run", run_id = %ctx.run.run_id, command);
    let result = async {
        let mut reports = Vec::new();
        let mut exit = code::OK;
        // One row per check, recorded up front in one statement.
        let run_rows = if ctx.dry_run { Vec::new() } else { runs::start_runs(&mut db, &ctx.run, checks).await? };
        for &check in checks {
            if signals::interrupted() {
                break;
            }
            let span = info_span!("check", check = check.slug());
            pb.set_message(format!("{}: reading and writing", check.slug()));
            match run_check(&mut db, &ctx, check).instrument(span.clone()).await {
                Ok(r) => {
                    span.in_scope(|| info!(rows = r.rows, skipped = r.skipped.len(), "check evaluated"));
                    exit = error::merge_exit(exit, r.exit_code());
                    reports.push(r);
                }
                Err(e) => {
                    span.in_scope(|| warn!(error = %e, "check failed"));
                    exit = error::merge_exit(exit, e.exit_code());
                    if matches!(e, Error::Unavailable(_) | Error::Lost(_)) {
                        return Err(e);
                    }
                    reports.push(CheckReport::new(check, Some(e.to_string())));
                }
            }
        }
        let mut delivery = None;
        if let Some(mailer) = &mailer {
            let mut per_check: HashMap<Check, Counts> = HashMap::new();
            if !signals::interrupted() {
                let deliverer = delivery::Deliverer {
                    cfg,
                    renderer: &ctx.renderer,
                    mailer,
                    run_id: &ctx.run.run_id,
                    ignore_backoff: false,
                };
                let d = delivery::deliver(&mut db, &deliverer, &mut per_check, pb).await?;
                info!(
                    sent = d.sent,
                    queued = d.queued,
                    failed = d.failed,
                    abandoned = d.abandoned,
                    "delivery finished"
                );
                exit = error::merge_exit(exit, d.exit_code());
                delivery = Some(d);
            }
            let interrupted = signals::interrupted();
            if interrupted {
                exit = error::merge_exit(exit, code::TEMPFAIL);
            }
            let mut ends = Vec::with_capacity(run_rows.len());
            for (i, row) in run_rows.iter().enumerate() {
                // Checks a signal kept from starting have no report.
                let Some(r) = reports.get_mut(i) else {
                    ends.push(runs::RunEnd {
                        row: *row,
                        status: RunStatus::Interrupted,
                        counts: Counts::default(),
                        error: None,
                    });
                    continue;
                };
                let c = per_check.get(&r.check).copied().unwrap_or_default();
                r.counts.sent = c.sent;
                r.counts.queued = c.queued;
                r.counts.failed = c.failed;
                let status = match (r.status, c.queued + c.failed + r.data_errors() as u32) {
                    (RunStatus::Failed, _) => RunStatus::Failed,
                    _ if interrupted => RunStatus::Interrupted,
                    (_, 0) => RunStatus::Ok,
                    _ => RunStatus::Partial,
                };
                ends.push(runs::RunEnd { row: *row, status, counts: r.counts, error: r.error.clone() });
            }
            runs::finish_runs(&mut db, &ends, exit).await?;
            finish(&mut db, cfg, &ctx.run.run_id, exit).await?;
        }
        Ok((reports, delivery, exit))
    }
    .instrument(span)
    .await;
    if let (Err(e), false) = (&result, ctx.dry_run) {
        runs::abort_runs(&mut db, &ctx.run.run_id, e).await;
    }
    pb.finish_and_clear();
    if let Some(lock) = lock {
        lock.release().await;
    }
    let statements = db.statements();
    db.close().await;
    let (reports, delivery, exit) = result?;
    let statements = statements - delivery.as_ref().map_or(0, |d| d.statements);
    Ok(RunReport {
        command: command.to_string(),
        run_id: (!ctx.dry_run).then(|| ctx.run.run_id.clone()),
        at: instant.to_rfc3339(),
        today: today.format("%Y-%m-%d").to_string(),
        timezone: cfg.timezone.name().to_string(),
        dry_run: ctx.dry_run,
        ledger: if migrated { "present" } else { "absent" },
        interrupted: signals::interrupted(),
        checks: reports,
        delivery,
        statements,
        exit_code: exit,
    })
}

/// `deliver`: sends what is queued, without running any check.
/// With `now`, every queued e-mail is due whatever its next attempt time.
pub async fn deliver_queued(cfg: &Config, pb: &ProgressBar, now: bool) -> Result<(DeliveryReport, u8)> {
    let target = cfg.database()?;
    let transport = cfg.transport()?;
    let renderer = Renderer::new(cfg.timezone, &cfg.base_url)?;
    let mailer = Mailer::new(cfg, transport)?;
    let mut db = Db::connect(target).await?;
    db.require_migrated().await?;
    let lock = RunLock::acquire(cfg, "deliver").await?;
    runs::close_orphans(&mut db, cfg.database_lock).await?;
    let instant = Utc::now();
    let run = Run::new("deliver", instant, runs::business_day(instant, cfg.timezone).0);
    let mut per_check = HashMap::new();
    let result = async {
        let row = runs::start_run(&mut db, &run).await?;
        let deliverer =
            delivery::Deliverer { cfg, renderer: &renderer, mailer: &mailer, run_id: &run.run_id, ignore_backoff: now };
        let d = delivery::deliver(&mut db, &deliverer, &mut per_check, pb).await?;
        let mut exit = d.exit_code();
        let interrupted = signals::interrupted();
        if interrupted {
            exit = error::merge_exit(exit, code::TEMPFAIL);
        }
        let counts = Counts { sent: d.sent, queued: d.queued, failed: d.failed + d.abandoned, ..Counts::default() };
        let status = match counts.queued + counts.failed {
            _ if interrupted => RunStatus::Interrupted,
            0 => RunStatus::Ok,
            _ => RunStatus::Partial,
        };
        let end = runs::RunEnd { row, status, counts, error: d.stopped.clone() };
        runs::finish_runs(&mut db, &[end], exit).await?;
        finish(&mut db, cfg, &run.run_id, exit).await?;
        Ok((d, exit))
    }
    .await;
    if let Err(e) = &result {
        runs::abort_runs(&mut db, &run.run_id, e).await;
    }
    pb.finish_and_clear();
    lock.release().await;
    db.close().await;
    result
}

/// `migrate`.
pub async fn migrate(cfg: &Config) -> Result<Vec<i64>> {
    let mut db = Db::connect(cfg.database()?).await?;
    let done = db.migrate().await;
    db.close().await;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_rows_are_taken_out_of_the_partition_in_order_r15() {
        use crate::checks::ProjectFacts;
        use crate::checks::project_deadlines::ProjectRow;
        use crate::checks::team::MemberRow;
        use crate::checks::testkit::{d, user};
        let p = ProjectRow {
            project: ProjectFacts {
                id: "1".repeat(32),
                nom: "P".into(),
                client: "C".into(),
                statut: "EN_COURS".into(),
            },
            date_fin: Some(d("2026-03-23")),
            creator: user("c"),
        };
        let members: Vec<MemberRow> = ["a", "b", "e"]
            .into_iter()
            .map(|u| MemberRow {
                project_id: p.project.id.clone(),
                assignment_id: u.into(),
                principal: false,
                person: user(u),
            })
            .collect();
        // J-7: creator and team, in recipient order a, b, c, e.
        let alerts = crate::checks::project_deadlines::evaluate(std::slice::from_ref(&p), &members, d("2026-03-16"));
        let create = alerts.into_iter().map(|alert| ledger::Planned { alert, mail: MailPlan::Send }).collect();
        let mut part = Partition { create, skipped: vec![] };
        let out = take_refused(&mut part, vec![(1, "one".into()), (3, "three".into())]);
        let ids = |v: Vec<&Alert>| v.into_iter().map(|a| a.recipient.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(out.iter().map(|(a, _)| a).collect()), [user("b").id, user("e").id]);
        assert_eq!(out.iter().map(|(_, w)| w.as_str()).collect::<Vec<_>>(), ["one", "three"]);
        assert_eq!(ids(part.create.iter().map(|p| &p.alert).collect()), [user("a").id, user("c").id]);
        assert!(take_refused(&mut part, vec![]).is_empty());
        assert_eq!(part.create.len(), 2);
    }
}

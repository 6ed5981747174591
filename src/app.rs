//! The pipeline (docs/design.md §2): the only module that sees the database, SMTP
//! and the clock together.
//! cli → config → lock → read → evaluate → partition → render →
//! [dry run: report] → one transaction per check → deliver → report.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::io::IsTerminal;

use futures_util::stream::{FuturesUnordered, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::{Instrument, info, info_span, warn};

use crate::checks::{self, Alert, Check};
use crate::cli::{Format, RunArgs};
use crate::config::{Config, MailMode};
use crate::db::{Db, read};
use crate::error::{Error, Result, code};
use crate::ledger::{self, Counts, MailPlan, OutboxRow, Run};
use crate::lock::RunLock;
use crate::notify::mail::{Mailer, SendError, file_stem, from_domain};
use crate::notify::render::{MailInput, Renderer};
use crate::report::{AlertReport, CheckReport, DeliveryFailure, DeliveryReport, RunReport, SkipReport};
use crate::signals;

/// Queued e-mails read per outbox query.
const OUTBOX_BATCH: u32 = 5000;
/// Attempts per e-mail within one run for 4xx replies.
const ATTEMPTS: u32 = 3;

/// The business day of `instant` in `tz` (R1) and its UTC bounds
/// `[local 00:00, next local 00:00)` (R2).
pub fn business_day(instant: DateTime<Utc>, tz: Tz) -> (NaiveDate, (NaiveDateTime, NaiveDateTime)) {
    let today = instant.with_timezone(&tz).date_naive();
    let midnight = |d: NaiveDate| -> NaiveDateTime {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
            // A zone whose clocks skip midnight: the day starts an hour later.
            chrono::LocalResult::None => tz
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
                .map(|t| t.naive_utc())
                .unwrap_or(local),
        }
    };
    (today, (midnight(today), midnight(today + chrono::Days::new(1))))
}

/// Merges exit codes: the most pressing class wins.
pub fn merge_exit(a: u8, b: u8) -> u8 {
    const ORDER: [u8; 7] =
        [code::SOFTWARE, code::UNAVAILABLE, code::NOPERM, code::CONFIG, code::DATAERR, code::TEMPFAIL, code::OK];
    let rank = |c: u8| ORDER.iter().position(|x| *x == c).unwrap_or(0);
    if rank(a) <= rank(b) { a } else { b }
}

fn new_run_id() -> String {
    // A random v4-style id from the OS; no extra crate needed.
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    if bytes == [0u8; 16] {
        let t = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128 ^ ((std::process::id() as u128) << 64);
        bytes = t.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    checks::dashed(&hex)
}

/// Reads the inputs of `check` and evaluates its rules.
async fn evaluate(db: &mut Db, check: Check, today: NaiveDate) -> Result<Vec<Alert>> {
    Ok(match check {
        Check::ProjectDeadlines => {
            let (rows, members) = read::fetch_project_deadlines(db, today).await?;
            checks::project_deadlines::evaluate(&rows, &members, today)
        }
        Check::StageDelays => {
            let (rows, members) = read::fetch_stage_delays(db, today).await?;
            checks::stage_delays::evaluate(&rows, &members, today)
        }
        Check::TaskDeadlines => {
            let (rows, members) = read::fetch_task_deadlines(db, today).await?;
            checks::task_deadlines::evaluate(&rows, &members, today)
        }
        Check::Budget => {
            let (rows, members) = read::fetch_budget(db).await?;
            checks::budget::evaluate(&rows, &members, today)
        }
        Check::ContractExpiration => {
            let (rows, superusers, members) = read::fetch_contracts(db, today).await?;
            checks::contracts::evaluate(&rows, &superusers, &members, today)
        }
    })
}

struct Ctx {
    run: Run,
    day: (NaiveDateTime, NaiveDateTime),
    dry_run: bool,
    migrated: bool,
    renderer: Renderer,
    from_domain: String,
}

/// One check: evaluate, partition, then preview or record.
async fn run_check(db: &mut Db, ctx: &Ctx, check: Check) -> Result<CheckReport> {
    let today = ctx.run.today;
    let alerts = evaluate(db, check, today).await?;
    let app = read::fetch_app_dedup(db, check, ctx.day).await?;
    let mut report = CheckReport {
        check,
        status: "ok",
        error: None,
        rows: 0,
        counts: Counts::default(),
        alerts: vec![],
        skipped: vec![],
    };
    if ctx.dry_run {
        let keys = if ctx.migrated { ledger::fetch_keys(db, check, today, false).await? } else { Default::default() };
        let part = ledger::partition(alerts, &app, &keys);
        for p in &part.create {
            let email = if p.mail == MailPlan::Send {
                let name = p.alert.recipient.full_name();
                let mut email = ctx.renderer.render(&MailInput::from_alert(&p.alert, &name, ctx.run.instant))?;
                // The preview shows subject and text; the HTML part is not kept.
                email.html = String::new();
                Some(email)
            } else {
                None
            };
            report.alerts.push(AlertReport::new(&p.alert, p.mail, email));
        }
        report.rows = part.create.len();
        report.skipped = SkipReport::all(&part);
        report.counts.rows = report.rows as u32;
        report.counts.skipped = part.skipped.len() as u32;
        return Ok(report);
    }

    // One transaction: the locking ledger read serialises concurrent runs;
    // app rows and ledger rows (the outbox) commit together (R5, R12).
    db.exec("starting a transaction", "START TRANSACTION").await?;
    let result = async {
        let keys = ledger::fetch_keys(db, check, today, true).await?;
        let part = ledger::partition(alerts, &app, &keys);
        ledger::claim(db, &ctx.run, check, &part.create, &ctx.from_domain).await?;
        Ok::<_, Error>(part)
    }
    .await;
    let part = match result {
        Ok(part) => {
            db.exec("committing", "COMMIT").await?;
            part
        }
        Err(e) => {
            let _ = db.exec("rolling back", "ROLLBACK").await;
            return Err(e);
        }
    };
    report.rows = part.create.len();
    report.alerts = part.create.iter().map(|p| AlertReport::new(&p.alert, p.mail, None)).collect();
    report.skipped = SkipReport::all(&part);
    report.counts.rows = report.rows as u32;
    report.counts.skipped = part.skipped.len() as u32;
    Ok(report)
}

/// The sent journal lives next to the lock file (a directory the run can write).
fn journal_path(cfg: &Config) -> std::path::PathBuf {
    let mut name = cfg.lock_file.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "sigov-alerts.lock".into());
    name.push(".sent");
    cfg.lock_file.with_file_name(name)
}

/// Backoff before the next run may retry an e-mail (`attempts` made so far).
fn retry_delay(attempts: u32) -> chrono::Duration {
    chrono::Duration::minutes(5 * (1i64 << attempts.min(4)))
}

/// One message to send: one outbox row, or (digest) all of a recipient's.
struct Unit<'a> {
    rows: Vec<&'a OutboxRow>,
    built: std::result::Result<lettre::Message, SendError>,
    message_id: String,
}

/// Sends one message, retrying a 4xx reply within the run (R5).
async fn send_with_retries(
    mailer: &Mailer,
    msg: &lettre::Message,
    message_id: &str,
) -> std::result::Result<(), SendError> {
    let mut attempt = 1;
    loop {
        match mailer.send(msg, &file_stem(message_id)).await {
            // The server is up and said "later": try again shortly.
            Err(SendError::Deferred(_)) if attempt < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250 * (1 << attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn mail_input<'a>(row: &'a OutboxRow, content: &'a ledger::AppContent) -> MailInput<'a> {
    MailInput {
        table: row.table.unwrap_or(checks::AppTable::AlerteProjet),
        kind: &row.kind,
        niveau: &content.niveau,
        titre: &content.titre,
        message: &content.message,
        contexte: &content.contexte,
        created_at: content.created_at,
        recipient_name: &content.recipient_name,
        project: &content.project,
        stage: content.stage.as_ref(),
    }
}

/// Groups a batch into messages: one per row, or one per address (digest).
fn group_rows<'a>(rows: &[&'a OutboxRow], digest: bool) -> Vec<Vec<&'a OutboxRow>> {
    if !digest {
        return rows.iter().map(|r| vec![*r]).collect();
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut groups: Vec<Vec<&'a OutboxRow>> = Vec::new();
    for r in rows {
        match index.get(r.address.as_str()) {
            Some(&i) => groups[i].push(r),
            None => {
                index.insert(r.address.as_str(), groups.len());
                groups.push(vec![*r]);
            }
        }
    }
    groups
}

/// Renders and builds the message of one group of rows.
fn build_unit<'a>(rows: Vec<&'a OutboxRow>, renderer: &Renderer, mailer: &Mailer, digest: bool) -> Unit<'a> {
    let first = rows[0];
    let content = first.content.as_ref();
    let name = content.map(|c| c.recipient_name.as_str()).unwrap_or_default();
    let (email, message_id) = if digest && rows.len() > 1 {
        let inputs: Vec<(String, MailInput<'_>)> =
            rows.iter().filter_map(|r| r.content.as_ref().map(|c| (r.check.clone(), mail_input(r, c)))).collect();
        let mut ids: Vec<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
        ids.sort_unstable();
        let domain = first.message_id.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>')).unwrap_or("localhost");
        (
            renderer.render_digest(name, &inputs),
            format!("<digest-{}@{domain}>", &ledger::sha256_hex(&ids.join(","))[..40]),
        )
    } else {
        let email = match content {
            Some(c) => renderer.render(&mail_input(first, c)),
            None => Err(Error::Internal("no content".into())),
        };
        (email, first.message_id.clone())
    };
    let built = match email {
        Err(e) => Err(SendError::Permanent(e.to_string())),
        Ok(email) => mailer.build(name, &first.address, &email, &message_id),
    };
    Unit { rows, built, message_id }
}

/// Sends every queued e-mail that is due, in batches (digest mode: all due
/// mail at once, grouped by recipient); per-check outcomes are added to
/// `per_check`.
pub async fn deliver(
    db: &mut Db,
    cfg: &Config,
    renderer: &Renderer,
    mailer: &Mailer,
    per_check: &mut HashMap<String, Counts>,
    pb: &ProgressBar,
) -> Result<DeliveryReport> {
    let mut rep = DeliveryReport::default();
    let max_age = chrono::Duration::from_std(cfg.max_delivery_age).unwrap_or(chrono::Duration::days(3));
    let digest = cfg.mail_mode == MailMode::Digest;
    let mut after = 0u64;
    let mut journal = ledger::Journal::open(&journal_path(cfg))?;
    let pending = journal.pending();
    if !pending.is_empty() {
        // A previous run was stopped after delivering these: record them.
        ledger::confirm_sent(db, &pending, Utc::now().naive_utc()).await?;
        journal.clear()?;
    }
    'batches: loop {
        let now = Utc::now().naive_utc();
        let mut batch = ledger::fetch_due(db, now, after, OUTBOX_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let mut full = batch.len() as u32 == OUTBOX_BATCH;
        while digest && full {
            // A digest needs all of a recipient's mail in one message.
            let more = ledger::fetch_due(db, now, after, OUTBOX_BATCH).await?;
            full = more.len() as u32 == OUTBOX_BATCH;
            if let Some(last) = more.last() {
                after = last.id;
            }
            batch.extend(more);
        }
        let mut gone = Vec::new();
        let mut live = Vec::new();
        for row in &batch {
            if row.content.is_some() { live.push(row) } else { gone.push(row) }
        }
        for row in gone {
            ledger::record_failure(db, row.id, "abandoned", "the app row no longer exists", None).await?;
            rep.abandoned += 1;
            per_check.entry(row.check.clone()).or_default().failed += 1;
            rep.failures.push(DeliveryFailure {
                check: row.check.clone(),
                address: row.address.clone(),
                state: "abandoned",
                reply: "the app row no longer exists".into(),
            });
        }
        let mut sent = Vec::with_capacity(live.len());
        // Up to `smtp_connections` messages on the wire at once (default 1:
        // then a kill repeats at most the one in flight). The next message is
        // built while the others travel, so rendering overlaps the round trips.
        let parallel = cfg.smtp_connections.max(1) as usize;
        let mut groups = group_rows(&live, digest).into_iter();
        let mut ready = groups.next().map(|g| build_unit(g, renderer, mailer, digest));
        let mut in_flight = FuturesUnordered::new();
        let mut stop: Option<String> = None;
        loop {
            while in_flight.len() < parallel && stop.is_none() && !signals::interrupted() {
                let Some(unit) = ready.take() else { break };
                in_flight.push(async move {
                    let outcome = match &unit.built {
                        Err(e) => Err(e.clone()),
                        Ok(msg) => send_with_retries(mailer, msg, &unit.message_id).await,
                    };
                    (unit, outcome)
                });
                if in_flight.len() < parallel {
                    ready = groups.next().map(|g| build_unit(g, renderer, mailer, digest));
                }
            }
            if in_flight.is_empty() {
                break;
            }
            pb.set_message(format!("delivering: {} sent", rep.sent));
            let prepare_next = ready.is_none() && stop.is_none();
            let prepare = async {
                if prepare_next { groups.next().map(|g| build_unit(g, renderer, mailer, digest)) } else { None }
            };
            let (done, prepared) = tokio::join!(in_flight.next(), prepare);
            if prepared.is_some() {
                ready = prepared;
            }
            let Some((unit, outcome)) = done else { break };
            for row in &unit.rows {
                let counts = per_check.entry(row.check.clone()).or_default();
                match &outcome {
                    Ok(()) => {
                        journal.record(row.id)?;
                        sent.push(row.id);
                        rep.sent += 1;
                        counts.sent += 1;
                    }
                    Err(SendError::Permanent(reply)) => {
                        warn!(check = %row.check, %reply, "e-mail rejected permanently");
                        ledger::record_failure(db, row.id, "failed", reply, None).await?;
                        rep.failed += 1;
                        counts.failed += 1;
                        rep.failures.push(DeliveryFailure {
                            check: row.check.clone(),
                            address: row.address.clone(),
                            state: "failed",
                            reply: reply.clone(),
                        });
                    }
                    Err(e) => {
                        let reply = e.reply().to_string();
                        let too_old = now - row.created_at > max_age;
                        let (state, next) = if too_old {
                            ("abandoned", None)
                        } else {
                            ("queued", Some(now + retry_delay(row.attempts)))
                        };
                        ledger::record_failure(db, row.id, state, &reply, next).await?;
                        if too_old {
                            rep.abandoned += 1;
                            counts.failed += 1;
                        }
                        warn!(check = %row.check, %reply, state, "e-mail not delivered");
                        rep.failures.push(DeliveryFailure {
                            check: row.check.clone(),
                            address: row.address.clone(),
                            state,
                            reply: reply.clone(),
                        });
                        if matches!(e, SendError::Unreachable(_)) && stop.is_none() {
                            // The server is unreachable or silent: send no
                            // more; the rest stays queued for the next run.
                            stop = Some(reply);
                        }
                    }
                }
            }
        }
        if stop.is_some() || signals::interrupted() {
            ledger::confirm_sent(db, &sent, Utc::now().naive_utc()).await?;
            journal.clear()?;
            rep.stopped = Some(stop.unwrap_or_else(|| "interrupted by a signal".into()));
            break 'batches;
        }
        ledger::confirm_sent(db, &sent, Utc::now().naive_utc()).await?;
        journal.clear()?;
        if !full {
            break;
        }
    }
    // What is still owed, whatever run created it (R5: said, never lost).
    for (check, n) in ledger::queued_by_check(db).await? {
        rep.queued += n;
        per_check.entry(check).or_default().queued = n;
    }
    Ok(rep)
}

/// A spinner on stderr when it is a terminal (never in pipes or cron).
pub fn progress(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// What every real command does after its work: prune old ledger rows,
/// write the metrics file.
async fn finish(db: &mut Db, cfg: &Config, exit: u8) -> Result<()> {
    ledger::prune(db, cfg.ledger_retention_days).await?;
    write_metrics(db, cfg, exit).await
}

/// Writes the metrics file when configured.
pub async fn write_metrics(db: &mut Db, cfg: &Config, exit: u8) -> Result<()> {
    if let Some(path) = &cfg.metrics_file {
        let (checks, queued, failed) = crate::metrics::fetch(db).await?;
        crate::metrics::write_atomic(path, &crate::metrics::render(&checks, queued, failed, exit))?;
    }
    Ok(())
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
    let (today, day) = business_day(instant, cfg.timezone);
    let target = cfg.database()?;
    let transport = if args.dry_run { None } else { Some(cfg.transport()?) };
    let renderer = Renderer::new(cfg.timezone, &cfg.base_url)?;
    let mailer = transport.map(|t| Mailer::new(cfg, t)).transpose()?;

    let mut db = Db::connect(target).await?;
    let migrated = db.is_migrated().await?;
    if !migrated && !args.dry_run {
        return Err(Error::Config(
            "the tool's tables are missing or out of date: run `sigov-alerts migrate` first".into(),
        ));
    }
    let lock = if args.dry_run { None } else { Some(RunLock::acquire(cfg, command).await?) };
    if lock.is_some() {
        ledger::close_orphans(&mut db).await?;
    }
    let run = Run {
        run_id: new_run_id(),
        command: command.to_string(),
        host: crate::lock::hostname(),
        pid: std::process::id(),
        instant: instant.naive_utc(),
        today,
    };
    let ctx = Ctx { run, day, dry_run: args.dry_run, migrated, renderer, from_domain: from_domain(cfg) };
    let span = info_span!("run", run_id = %ctx.run.run_id, command);
    let result = async {
        let mut reports = Vec::new();
        let mut exit = code::OK;
        // One row per check, recorded up front in one statement.
        let run_rows = if ctx.dry_run { Vec::new() } else { ledger::start_runs(&mut db, &ctx.run, checks).await? };
        for &check in checks {
            if signals::interrupted() {
                break;
            }
            let span = info_span!("check", check = check.slug());
            pb.set_message(format!("{}: reading and writing", check.slug()));
            match run_check(&mut db, &ctx, check).instrument(span.clone()).await {
                Ok(r) => {
                    span.in_scope(|| info!(rows = r.rows, skipped = r.skipped.len(), "check evaluated"));
                    reports.push(r);
                }
                Err(e) => {
                    span.in_scope(|| warn!(error = %e, "check failed"));
                    exit = merge_exit(exit, e.exit_code());
                    if matches!(e, Error::Unavailable(_)) {
                        return Err(e);
                    }
                    reports.push(CheckReport {
                        check,
                        status: "failed",
                        error: Some(e.to_string()),
                        rows: 0,
                        counts: Counts::default(),
                        alerts: vec![],
                        skipped: vec![],
                    });
                }
            }
        }
        let mut delivery = None;
        if let Some(mailer) = &mailer {
            let mut per_check: HashMap<String, Counts> = HashMap::new();
            if !signals::interrupted() {
                let d = deliver(&mut db, cfg, &ctx.renderer, mailer, &mut per_check, pb).await?;
                info!(
                    sent = d.sent,
                    queued = d.queued,
                    failed = d.failed,
                    abandoned = d.abandoned,
                    "delivery finished"
                );
                exit = merge_exit(exit, d.exit_code());
                delivery = Some(d);
            }
            let interrupted = signals::interrupted();
            if interrupted {
                exit = merge_exit(exit, code::TEMPFAIL);
            }
            let mut ends = Vec::with_capacity(run_rows.len());
            for (i, row) in run_rows.iter().enumerate() {
                // Checks a signal kept from starting have no report.
                let Some(r) = reports.get_mut(i) else {
                    ends.push(ledger::RunEnd {
                        row: *row,
                        status: "interrupted",
                        counts: Counts::default(),
                        error: None,
                    });
                    continue;
                };
                let c = per_check.get(r.check.slug()).copied().unwrap_or_default();
                r.counts.sent = c.sent;
                r.counts.queued = c.queued;
                r.counts.failed = c.failed;
                let status = match (r.status, c.queued + c.failed) {
                    ("failed", _) => "failed",
                    _ if interrupted => "interrupted",
                    (_, 0) => "ok",
                    _ => "partial",
                };
                ends.push(ledger::RunEnd { row: *row, status, counts: r.counts, error: r.error.clone() });
            }
            ledger::finish_runs(&mut db, &ends).await?;
            finish(&mut db, cfg, exit).await?;
        }
        Ok((reports, delivery, exit))
    }
    .instrument(span)
    .await;
    pb.finish_and_clear();
    if let Some(lock) = lock {
        lock.release().await;
    }
    let statements = db.statements();
    db.close().await;
    let (reports, delivery, exit) = result?;
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
pub async fn deliver_queued(cfg: &Config, pb: &ProgressBar) -> Result<(DeliveryReport, u8)> {
    let target = cfg.database()?;
    let transport = cfg.transport()?;
    let renderer = Renderer::new(cfg.timezone, &cfg.base_url)?;
    let mailer = Mailer::new(cfg, transport)?;
    let mut db = Db::connect(target).await?;
    if !db.is_migrated().await? {
        return Err(Error::Config(
            "the tool's tables are missing or out of date: run `sigov-alerts migrate` first".into(),
        ));
    }
    let lock = RunLock::acquire(cfg, "deliver").await?;
    ledger::close_orphans(&mut db).await?;
    let mut per_check = HashMap::new();
    let result = async {
        let d = deliver(&mut db, cfg, &renderer, &mailer, &mut per_check, pb).await?;
        let mut exit = d.exit_code();
        if signals::interrupted() {
            exit = merge_exit(exit, code::TEMPFAIL);
        }
        finish(&mut db, cfg, exit).await?;
        Ok((d, exit))
    }
    .await;
    pb.finish_and_clear();
    lock.release().await;
    db.close().await;
    result
}

/// Prints the report as the flags ask: always for dry runs and JSON, and
/// for real runs only with `-v` (quiet on success).
pub fn print_report(report: &RunReport, args: &RunArgs, verbose: bool) {
    match args.format {
        Format::Json => {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(std::io::stdout().lock());
            if serde_json::to_writer_pretty(&mut w, report).is_ok() {
                let _ = writeln!(w);
            }
            let _ = w.flush();
        }
        Format::Text if args.dry_run || verbose => crate::out(&report.to_text()),
        Format::Text => {}
    }
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
    fn business_day_is_paris_date_r1() {
        let at = |s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (d, (start, end)) = business_day(at("2026-03-15T23:30:00Z"), chrono_tz::Europe::Paris);
        assert_eq!(d.to_string(), "2026-03-16");
        assert_eq!(start.to_string(), "2026-03-15 23:00:00");
        assert_eq!(end.to_string(), "2026-03-16 23:00:00");
        // Summer time: the day starts at 22:00 UTC.
        let (d, (start, _)) = business_day(at("2026-07-01T22:30:00Z"), chrono_tz::Europe::Paris);
        assert_eq!(d.to_string(), "2026-07-02");
        assert_eq!(start.to_string(), "2026-07-01 22:00:00");
    }

    #[test]
    fn exit_codes_merge_by_severity() {
        assert_eq!(merge_exit(0, 75), 75);
        assert_eq!(merge_exit(75, 65), 65);
        assert_eq!(merge_exit(65, 78), 78);
        // A missing privilege also hides tables: it is the cause to report.
        assert_eq!(merge_exit(78, 77), 77);
        assert_eq!(merge_exit(69, 78), 69);
    }
}

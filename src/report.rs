//! What a run did or would do, on stdout: text for people, JSON (stable
//! field names) for CI and scripts.

use std::fmt::Write as _;

use serde::Serialize;

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::checks::{Alert, Check, SkipReason};
use crate::cli::{Format, RunArgs};
use crate::ledger::{MailPlan, Partition};
use crate::notify::render::Email;
use crate::runs::{Counts, RunStatus};

/// The outcome of one command.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The command.
    pub command: String,
    /// Run id (absent for dry runs, which are not recorded).
    pub run_id: Option<String>,
    /// The run instant, RFC 3339.
    pub at: String,
    /// The business day.
    pub today: String,
    /// The business time zone.
    pub timezone: String,
    /// Whether nothing was written or sent.
    pub dry_run: bool,
    /// Ledger state: `present`, or `absent` (dry run before `migrate`: treated as empty).
    pub ledger: &'static str,
    /// Whether a signal stopped the run early.
    pub interrupted: bool,
    /// Per check.
    pub checks: Vec<CheckReport>,
    /// Delivery of queued e-mails (real runs).
    pub delivery: Option<DeliveryReport>,
    /// Statements executed on the work connection, delivery's apart
    /// (`delivery.statements`).
    pub statements: u64,
    /// The exit code.
    pub exit_code: u8,
}

/// The outcome of one check.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// The check.
    pub check: Check,
    /// `ok` or `failed`.
    pub status: crate::runs::RunStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// Rows created (or that would be).
    pub rows: usize,
    /// E-mail counts after delivery.
    pub counts: Counts,
    /// Each row created (or that would be).
    pub alerts: Vec<AlertReport>,
    /// Each alert not created, with why.
    pub skipped: Vec<SkipReport>,
}

impl CheckReport {
    /// A check's report before its outcome: `ok`, or `failed` with `error`.
    pub fn new(check: Check, error: Option<String>) -> CheckReport {
        CheckReport {
            check,
            status: if error.is_some() { RunStatus::Failed } else { RunStatus::Ok },
            error,
            rows: 0,
            counts: Counts::default(),
            alerts: vec![],
            skipped: vec![],
        }
    }

    /// Records what the check created and skipped (`part`), and names each
    /// alert skipped as `data_error` on stderr and in the report (R15):
    /// nothing of it is recorded, so every run tries it again.
    pub fn outcome(&mut self, part: &Partition, errors: &[(Alert, String)]) {
        self.rows = part.create.len();
        self.skipped = SkipReport::all(part);
        self.counts.rows = self.rows as u32;
        self.counts.skipped = (part.skipped.len() + errors.len()) as u32;
        for (a, why) in errors {
            tracing::warn!(
                check = a.check.slug(),
                item_id = %a.item_id,
                recipient_id = %a.recipient.id,
                kind = a.kind.as_str(),
                reason = %why,
                "data_error: alert skipped, tried again on the next run"
            );
            self.skipped.push(SkipReport::data_error(a, why));
        }
    }
}

impl CheckReport {
    /// The alerts skipped as `data_error` (R15).
    pub fn data_errors(&self) -> usize {
        self.skipped.iter().filter(|s| s.reason == SkipReason::DataError.as_str()).count()
    }

    /// 65 when an item was skipped as `data_error` (R15), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.data_errors() > 0 { crate::error::code::DATAERR } else { crate::error::code::OK }
    }
}

/// One row and its e-mail.
#[derive(Debug, Serialize)]
pub struct AlertReport {
    /// Alert type.
    pub kind: &'static str,
    /// App table.
    pub table: &'static str,
    /// Item id.
    pub item_id: String,
    /// Project name.
    pub project: String,
    /// Recipient id.
    pub recipient_id: String,
    /// Recipient's full name.
    pub recipient: String,
    /// Address (may be empty).
    pub address: String,
    /// `titre`.
    pub titre: String,
    /// `message`.
    pub message: String,
    /// `donnees_contexte`.
    pub contexte: String,
    /// `send`, `no_address` or `bad_address`.
    pub mail: MailPlan,
    /// The e-mail (dry runs).
    pub email: Option<Email>,
}

impl AlertReport {
    /// The report line of a created (or would-be) row.
    pub fn new(a: &Alert, mail: MailPlan, email: Option<Email>) -> Self {
        AlertReport {
            kind: a.kind.as_str(),
            table: a.table.name(),
            item_id: a.item_id.clone(),
            project: a.project.nom.clone(),
            recipient_id: a.recipient.id.clone(),
            recipient: a.recipient.full_name(),
            address: a.recipient.email.clone(),
            titre: a.titre.clone(),
            message: a.message.clone(),
            contexte: a.contexte.clone(),
            mail,
            email,
        }
    }
}

/// One skipped alert.
#[derive(Debug, Serialize)]
pub struct SkipReport {
    /// Alert type.
    pub kind: &'static str,
    /// Item id.
    pub item_id: String,
    /// Project name.
    pub project: String,
    /// Recipient id.
    pub recipient_id: String,
    /// Recipient's full name.
    pub recipient: String,
    /// Why.
    pub reason: &'static str,
    /// Whether the in-app row is created all the same (only the e-mail is skipped, R9).
    pub row_created: bool,
    /// What went wrong (`data_error` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl SkipReport {
    /// The report line of a skipped alert (or e-mail, when `row_created`).
    pub fn new(a: &Alert, reason: SkipReason, row_created: bool) -> Self {
        SkipReport {
            kind: a.kind.as_str(),
            item_id: a.item_id.clone(),
            project: a.project.nom.clone(),
            recipient_id: a.recipient.id.clone(),
            recipient: a.recipient.full_name(),
            reason: reason.as_str(),
            row_created,
            detail: None,
        }
    }

    /// The report line of an alert skipped because its item could not be
    /// evaluated, rendered or written (R15), with why.
    pub fn data_error(a: &Alert, why: &str) -> Self {
        SkipReport { detail: Some(why.to_string()), ..SkipReport::new(a, SkipReason::DataError, false) }
    }

    /// Every skip of a partition: the alerts not created, then the e-mails
    /// not sent for rows that are (no or invalid address, R9).
    pub fn all(part: &Partition) -> Vec<SkipReport> {
        let mut out: Vec<SkipReport> = part.skipped.iter().map(|(a, r)| SkipReport::new(a, *r, false)).collect();
        for p in &part.create {
            let reason = match p.mail {
                MailPlan::Send => continue,
                MailPlan::NoAddress => SkipReason::NoAddress,
                MailPlan::BadAddress => SkipReason::BadAddress,
            };
            out.push(SkipReport::new(&p.alert, reason, true));
        }
        out
    }
}

/// Delivery outcome.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryReport {
    /// Delivered now.
    pub sent: u32,
    /// Still queued (will be retried).
    pub queued: u32,
    /// Rejected permanently now.
    pub failed: u32,
    /// Given up (too old, or the app row is gone).
    pub abandoned: u32,
    /// Why delivery stopped early, if it did.
    pub stopped: Option<String>,
    /// The exit code that stop calls for (78: the relay refuses our
    /// configuration; 75: try again later), 0 when delivery did not stop.
    pub stop_exit: u8,
    /// Statements delivery executed (claims, reads, confirmations): they
    /// follow the number of e-mails, so they are counted apart.
    pub statements: u64,
    /// Each failure: address, check, state, reply.
    pub failures: Vec<DeliveryFailure>,
}

impl DeliveryReport {
    /// 65 when mail was rejected or abandoned, else 75 when some is still
    /// queued, else 0.
    pub fn exit_code(&self) -> u8 {
        use crate::error::code;
        let mut exit = code::OK;
        if self.queued > 0 {
            exit = crate::error::merge_exit(exit, code::TEMPFAIL);
        }
        if self.failed + self.abandoned > 0 {
            exit = crate::error::merge_exit(exit, code::DATAERR);
        }
        crate::error::merge_exit(exit, self.stop_exit)
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut o = format!(
            "delivery: {} sent, {} queued for retry, {} rejected, {} abandoned\n",
            self.sent, self.queued, self.failed, self.abandoned
        );
        if let Some(s) = &self.stopped {
            let _ = writeln!(o, "   stopped early: {s}");
        }
        for f in &self.failures {
            let _ = writeln!(o, "   {} item {} <{}> {}: {}", f.check, f.item, f.address, f.state, f.reply);
        }
        o
    }

    /// The one-line error of a delivery that left mail undelivered.
    pub fn error_line(&self) -> Option<String> {
        if let Some(stop) = &self.stopped {
            return Some(format!(
                "delivering e-mails: {} sent, {} queued for retry, {} rejected, {} abandoned; stopped: {stop}",
                self.sent, self.queued, self.failed, self.abandoned
            ));
        }
        (self.queued + self.failed + self.abandoned > 0).then(|| {
            format!(
                "delivering e-mails: {} sent, {} queued for retry, {} rejected, {} abandoned{}",
                self.sent,
                self.queued,
                self.failed,
                self.abandoned,
                self.failures.first().map(|f| format!(" (first: {})", f.reply)).unwrap_or_default()
            )
        })
    }
}

/// One failed delivery.
#[derive(Debug, Serialize)]
pub struct DeliveryFailure {
    /// The check.
    pub check: Check,
    /// The item the alert is about.
    pub item: String,
    /// Address.
    pub address: String,
    /// `queued`, `failed` or `abandoned`.
    pub state: crate::outbox::DeliveryState,
    /// The server's reply or the local reason.
    pub reply: String,
}

fn indent(s: &str, by: &str) -> String {
    s.lines().map(|l| format!("{by}{l}\n")).collect()
}

impl RunReport {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let mode = if self.dry_run { "dry run: nothing written, nothing sent" } else { "run" };
        let _ = writeln!(o, "{} at {} (today {} {}), {mode}", self.command, self.at, self.today, self.timezone);
        if self.ledger != "present" {
            let _ =
                writeln!(o, "note: the ledger tables do not exist yet (run `sigov-alerts migrate`); treated as empty");
        }
        for c in &self.checks {
            let verb = if self.dry_run { "would create" } else { "created" };
            let mails = c.alerts.iter().filter(|a| a.mail == MailPlan::Send).count();
            let _ = writeln!(
                o,
                "\n== {} [{}]: {verb} {} rows, {} e-mails; {} skipped",
                c.check.command_name(),
                c.status,
                c.rows,
                mails,
                c.skipped.len()
            );
            if let Some(e) = &c.error {
                let _ = writeln!(o, "   error: {e}");
            }
            for a in &c.alerts {
                let to = if a.address.is_empty() { "(no address)".to_string() } else { a.address.clone() };
                let _ = writeln!(o, "-> {} <{to}> {} on {:?} [{}]", a.recipient, a.kind, a.project, a.table);
                match (&a.email, a.mail) {
                    (Some(e), _) => {
                        let _ = writeln!(o, "   Subject: {}", e.subject);
                        o.push_str(&indent(&e.text, "   | "));
                    }
                    (None, MailPlan::Send) => {
                        let _ = writeln!(o, "   titre: {}", a.titre);
                    }
                    (None, plan) => {
                        let _ = writeln!(
                            o,
                            "   no e-mail: {}",
                            serde_json::to_value(plan)
                                .ok()
                                .and_then(|v| v.as_str().map(String::from))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            for s in &c.skipped {
                let row = if s.row_created { " (row created, no e-mail)" } else { "" };
                let detail = s.detail.as_ref().map(|d| format!(" (item {}: {d})", s.item_id)).unwrap_or_default();
                let _ =
                    writeln!(o, "   skipped {} {} on {:?}: {}{row}{detail}", s.recipient, s.kind, s.project, s.reason);
            }
        }
        if let Some(d) = &self.delivery {
            o.push('\n');
            o.push_str(&d.to_text());
        }
        let _ = writeln!(o, "\nstatements: {}, exit code {}", self.statements, self.exit_code);
        o
    }
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

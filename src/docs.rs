//! Man pages and shell completions, generated from the clap definitions
//! (never hand-edited); a test fails when the committed ones are stale.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
Everything due was recorded and every e-mail owed is delivered (or there was nothing to do).
.TP
\fB1\fR
\fBstatus\fR only: unhealthy (a check's last success is too old, or e-mail is stuck or failed).
.TP
\fB2\fR
Usage error.
.TP
\fB65\fR
Some e-mails were rejected permanently; they are recorded with the server's reply and not retried.
.TP
\fB69\fR
The database is unreachable: nothing was done.
.TP
\fB70\fR
Internal error.
.TP
\fB75\fR
Temporary: the lock is held by another run, the run was interrupted, or e-mails are still queued for retry.
.TP
\fB77\fR
The database user lacks a privilege the run needs.
.TP
\fB78\fR
Configuration error: bad value, missing app tables, migrations not applied.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBSIGOV_ALERTS_CONFIG\fR
Configuration file (as \fB\-\-config\fR).
.TP
\fBDATABASE_URL\fR
Database URL (as \fB\-\-database\-url\fR).
.TP
\fBSIGOV_ALERTS_SMTP_URL\fR
Mail transport (as \fB\-\-smtp\-url\fR).
.TP
\fBSIGOV_ALERTS_TIMEZONE\fR, \fBSIGOV_ALERTS_BASE_URL\fR, \fBSIGOV_ALERTS_FROM\fR, \fBSIGOV_ALERTS_LOCK_FILE\fR, \fBSIGOV_ALERTS_METRICS_FILE\fR, \fBSIGOV_ALERTS_LOG_FILE\fR
As the options of the same name.
.TP
\fBSIGOV_ALERTS_LOG\fR
A tracing filter overriding \fB\-v\fR/\fB\-q\fR (e.g. \fBsigov_alerts=debug\fR).
"#;

const FILES: &str = r#".SH FILES
.TP
\fB/etc/sigov\-alerts.toml\fR
Configuration file, read when it exists and no \fB\-\-config\fR is given.
.TP
\fB/run/lock/sigov\-alerts.lock\fR
Default lock file (one run per host at a time).
.TP
\fB/run/lock/sigov\-alerts.lock.sent\fR
The sent journal beside the lock file: each delivered e\-mail is noted there the moment the server accepts it, and the next run records these in the ledger, so a killed run repeats at most the e\-mails in flight.
.TP
\fBsigov_alerts_runs\fR, \fBsigov_alerts_deliveries\fR, \fB_sigov_alerts_migrations\fR
The tool's own tables in the application database (run history, ledger and outbox, migrations).
"#;

fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    out.write_all(EXIT_STATUS.as_bytes())?;
    out.write_all(ENVIRONMENT.as_bytes())?;
    out.write_all(FILES.as_bytes())?;
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Every man page: (file name, roff).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut buf = Vec::new();
        if render(sub, &mut buf).is_ok() {
            pages.push((format!("{}.1", sub.get_display_name().unwrap_or(sub.get_name())), buf));
        }
    }
    let mut buf = Vec::new();
    if render(&root, &mut buf).is_ok() {
        pages.push(("sigov-alerts.1".to_string(), buf));
    }
    pages.sort();
    pages
}

/// The binary's name, as completion scripts register it.
const BIN: &str = "sigov-alerts";

/// The command tree the completion scripts describe: the real one without
/// its hidden (internal) subcommands and hidden top-level options (clap_complete
/// lists hidden ones too), so `generate-man` is never offered, not even under
/// `help`.
fn completion_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new(BIN)
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    cmd
}

/// The completion script for `shell`: what `sigov-alerts completions SHELL`
/// prints and what completions/ holds.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut completion_command(), BIN, &mut buf);
    match shell {
        clap_complete::Shell::Bash => fix_bash(&String::from_utf8_lossy(&buf)).into_bytes(),
        _ => buf,
    }
}

/// clap_complete's bash generator names the state of a subcommand two ways
/// when the binary name has a hyphen: the loop over the words sets
/// `cmd="sigov__alerts__subcmd__status"` (hyphens of the binary become `__`)
/// while the `case "${cmd}"` that lists the options has the label
/// `sigov__subcmd__alerts__subcmd__status)` (every hyphen of the path
/// becomes `__subcmd__`). No label matched, so no option of any subcommand
/// was ever completed. The labels are rewritten to the loop's spelling.
fn fix_bash(script: &str) -> String {
    const SEP: &str = "__subcmd__";
    let wrong = format!("{}{SEP}", BIN.replace('-', SEP));
    let right = format!("{}{SEP}", BIN.replace('-', "__"));
    script.replace(&wrong, &right)
}

/// Every completion script: (file name, content).
pub fn completions() -> Vec<(String, Vec<u8>)> {
    use clap_complete::Shell;
    [(Shell::Bash, "sigov-alerts.bash"), (Shell::Zsh, "_sigov-alerts"), (Shell::Fish, "sigov-alerts.fish")]
        .into_iter()
        .map(|(shell, name)| (name.to_string(), completion(shell)))
        .collect()
}

/// Writes the man pages into `dir`.
pub fn write_man(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in man_pages() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `UPDATE_DOCS=1 cargo test --release docs` rewrites man/ and completions/.
    fn check(dir: &str, files: Vec<(String, Vec<u8>)>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::create_dir_all(&root).unwrap();
            for (name, text) in &files {
                std::fs::write(root.join(name), text).unwrap();
            }
        }
        let mut committed: Vec<String> = std::fs::read_dir(&root)
            .unwrap_or_else(|_| panic!("{dir}/ missing: run UPDATE_DOCS=1 cargo test --release docs"))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        committed.sort();
        let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(committed, names, "{dir}/ is stale: run UPDATE_DOCS=1 cargo test --release docs");
        for (name, text) in files {
            let on_disk = std::fs::read(root.join(&name)).unwrap();
            assert!(on_disk == text, "{dir}/{name} is stale: run UPDATE_DOCS=1 cargo test --release docs");
        }
    }

    #[test]
    fn man_pages_are_up_to_date() {
        let pages = man_pages();
        for (name, text) in &pages {
            let text = String::from_utf8_lossy(text);
            for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
                assert!(text.contains(section), "{name} lacks {section}");
            }
        }
        assert!(pages.iter().any(|(n, _)| n == "sigov-alerts-run-all.1"));
        assert!(pages.iter().all(|(n, _)| n != "sigov-alerts-generate-man.1"));
        check("man", pages);
    }

    #[test]
    fn completions_are_up_to_date() {
        check("completions", completions());
    }

    #[test]
    fn bash_script_has_a_case_for_every_command_state() {
        let script = String::from_utf8(completion(clap_complete::Shell::Bash)).unwrap();
        let states: Vec<&str> = script
            .lines()
            .filter_map(|l| l.trim().strip_prefix("cmd=\"")?.strip_suffix('"'))
            .filter(|s| !s.is_empty())
            .collect();
        assert!(states.contains(&"sigov__alerts__subcmd__status"), "{states:?}");
        for state in states {
            assert!(script.lines().any(|l| l.trim() == format!("{state})")), "no `{state})` label in the bash script");
        }
    }

    #[test]
    fn completions_leave_out_hidden_commands() {
        for (name, text) in completions() {
            let text = String::from_utf8(text).unwrap();
            assert!(text.contains("run-all") && !text.contains("generate-man"), "{name}");
        }
    }

    #[test]
    fn every_check_has_a_command_and_a_man_page() {
        let pages = man_pages();
        for c in crate::checks::Check::ALL {
            let page = format!("sigov-alerts-{}.1", c.command_name());
            assert!(pages.iter().any(|(n, _)| *n == page), "{page}");
        }
    }
}

//! `crontab`: ready-to-paste crontab lines for this install, the
//! counterpart of the old stack's `setup_celery_beat`.
//!
//! The lines are written for the configured `timezone` with `CRON_TZ`, which
//! cronie and supercronic honour but Debian's cron ignores: that cron reads
//! them in the host's zone. When the two zones keep different clocks the
//! output says so, gives the hours in host time and the systemd timer that
//! follows the configured zone all year.

use std::path::Path;

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::checks::Check;
use crate::config::{Config, DEFAULT_CONFIG_FILE};

/// The crontab lines, with absolute paths.
pub fn lines(cfg: &Config, config_file: Option<&Path>, staggered: bool) -> String {
    let bin = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/usr/local/bin/sigov-alerts".into());
    let config = match config_file {
        Some(p) => {
            let abs = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
            format!(" --config {}", abs.display())
        }
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => format!(" --config {DEFAULT_CONFIG_FILE}"),
        None => String::new(),
    };
    let host = HostZone::detect();
    let tz = cfg.timezone;
    let mut o = String::from("# sigov-alerts: paste into `crontab -e` of the user that runs it.\n#\n");
    o.push_str(&comment(
        "MAILTO: cron mails whatever a job prints to this address (without MAILTO, to the crontab's owner). \
         sigov-alerts prints nothing on success, so every mail means trouble: one \
         \"sigov-alerts: error: ...\" line, the exit code in `man sigov-alerts`. Put the address that should \
         get it.",
    ));
    o.push_str("MAILTO=root\n#\n");
    o.push_str(&zone_note(host.tz, &host.origin, tz, Utc::now()));
    o.push_str("#\n");
    o.push_str(&comment(&format!(
        "Whatever zone cron uses, the checks' \"today\" is the date in the configured timezone ({}).",
        tz.name()
    )));
    o.push_str(&format!("CRON_TZ={}\n", tz.name()));
    if staggered {
        o.push_str("# The old Celery beat schedule: every 4 hours, checks 5 minutes apart.\n");
        for (i, c) in Check::ALL.iter().enumerate() {
            // Wait a little for the previous check rather than skip this one.
            o.push_str(&format!("{} */4 * * * {bin}{config} --wait-lock 4m {}\n", i * 5, c.command_name()));
        }
    } else {
        o.push_str("# Every 4 hours: the five checks in order, then delivery.\n");
        o.push_str(&format!("0 */4 * * * {bin}{config} run-all\n"));
    }
    o.push_str("# Retry queued e-mail (SMTP outages) every hour, at minute 30.\n");
    o.push_str(&format!("30 * * * * {bin}{config} deliver\n"));
    o
}

/// The host's time zone: the one a cron that ignores `CRON_TZ` reads the
/// lines in.
#[derive(Debug, Clone, PartialEq)]
pub struct HostZone {
    pub tz: Tz,
    /// Where it was read, e.g. "from /etc/localtime".
    pub origin: String,
}

impl HostZone {
    /// The /etc/localtime symlink (what the cron daemon's libc reads), then
    /// /etc/timezone, then `TZ` (the environment of this shell, which is not
    /// necessarily cron's); unknown is taken as UTC, as libc does.
    pub fn detect() -> HostZone {
        let found = |tz: Option<Tz>, origin: &str| tz.map(|tz| HostZone { tz, origin: format!("from {origin}") });
        std::fs::read_link("/etc/localtime")
            .ok()
            .and_then(|link| found(zone_from_path(&link.to_string_lossy()), "/etc/localtime"))
            .or_else(|| {
                let text = std::fs::read_to_string("/etc/timezone").ok()?;
                found(zone_from_path(text.lines().next()?), "/etc/timezone")
            })
            .or_else(|| {
                let tz = std::env::var("TZ").ok()?;
                found(zone_from_path(tz.strip_prefix(':').unwrap_or(&tz)), "TZ")
            })
            .unwrap_or_else(|| HostZone {
                tz: Tz::UTC,
                origin: "unknown: no /etc/localtime link, /etc/timezone or TZ, so taken as UTC".into(),
            })
    }
}

/// A zone name, or a path ending in one (/usr/share/zoneinfo/Europe/Paris).
fn zone_from_path(s: &str) -> Option<Tz> {
    let s = s.trim();
    let name = s.rsplit_once("zoneinfo/").map_or(s, |(_, name)| name);
    let name = name.strip_prefix("posix/").or_else(|| name.strip_prefix("right/")).unwrap_or(name);
    name.parse().ok()
}

/// Seconds the configured zone is ahead of the host's zone at `t`.
fn lead(host: Tz, configured: Tz, t: DateTime<Utc>) -> i64 {
    let offset = |tz: Tz| i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc());
    offset(configured) - offset(host)
}

fn utc_offset(tz: Tz, t: DateTime<Utc>) -> String {
    let s = tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc();
    let sign = if s < 0 { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", s.abs() / 3600, s.abs() % 3600 / 60)
}

/// A length of time in words: "an hour", "2 hours", "5 hours 30 minutes".
fn span(secs: i64) -> String {
    let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
    let hours = match h {
        1 if m == 0 => "an hour".to_string(),
        1 => "1 hour".to_string(),
        h => format!("{h} hours"),
    };
    match (h, m) {
        (0, m) => format!("{m} minutes"),
        (_, 0) => hours,
        (_, m) => format!("{hours} {m} minutes"),
    }
}

/// The comment on time zones, for lines written for `configured` and read
/// by a cron that ignores `CRON_TZ` in `host` (found as `origin` says), as of
/// `now`: whether the two clocks agree, and when not, the hours in host time
/// at the current offsets, when those stop being right, and the systemd
/// timer that follows `configured` all year.
pub fn zone_note(host: Tz, origin: &str, configured: Tz, now: DateTime<Utc>) -> String {
    let (h, c) = (host.name(), configured.name());
    // The clocks over the next year, hour by hour.
    let now_lead = lead(host, configured, now);
    let next_change = (1..=366 * 24).map(|i| now + Duration::hours(i)).find(|t| lead(host, configured, *t) != now_lead);
    if now_lead == 0 && next_change.is_none() {
        return comment(&format!(
            "Time zones: this host's zone ({h}, {origin}) keeps the same clock as the configured {c}, so the \
             times below are right whether or not this cron honours CRON_TZ (Debian's cron does not)."
        ));
    }
    let mut text = format!(
        "Time zones: the times below are meant in {c} (CRON_TZ). cronie (RHEL, Fedora, Arch, openSUSE) and \
         supercronic honour CRON_TZ; Debian's cron ignores it and reads them in the host's zone, here {h} \
         ({origin}), whose clock differs. "
    );
    let offsets = format!("{c} {}, {h} {}", utc_offset(configured, now), utc_offset(host, now));
    if now_lead == 0 {
        text.push_str(&format!(
            "For now both are at {}, so */4 fires at 00:00, 04:00 ... 20:00 {c}. ",
            utc_offset(host, now)
        ));
    } else {
        // Host time of the configured zone's 00:00, 04:00 ... 20:00.
        let mut times: Vec<i64> = (0..6).map(|i| (i * 4 * 3600 - now_lead).rem_euclid(86_400)).collect();
        times.sort();
        if now_lead % 3600 == 0 {
            let hours: Vec<String> = times.iter().map(|s| (s / 3600).to_string()).collect();
            text.push_str(&format!(
                "There */4 fires at 00:00, 04:00 ... 20:00 {h}, not {c}; for 00:00, 04:00 ... 20:00 {c}, write \
                 the hour field {} instead of */4 ({h} hours at the current offsets: {offsets}). ",
                hours.join(",")
            ));
        } else {
            let hm: Vec<String> = times.iter().map(|s| format!("{:02}:{:02}", s / 3600, s % 3600 / 60)).collect();
            text.push_str(&format!(
                "There */4 fires at 00:00, 04:00 ... 20:00 {h}, not {c}; 00:00, 04:00 ... 20:00 {c} are {} {h} \
                 (at the current offsets: {offsets}): set the minute and hour fields from these. ",
                hm.join(", ")
            ));
        }
    }
    match next_change {
        None => text.push_str(&format!(
            "The difference stays {} all year, so these hours need no later change.",
            span(now_lead)
        )),
        Some(t) => text.push_str(&format!(
            "A fixed crontab cannot follow another zone's daylight saving time: from about {} the lines fire \
             {} off, and they shift by an hour at each daylight saving change.",
            t.with_timezone(&configured).format("%Y-%m-%d"),
            span(lead(host, configured, t) - now_lead)
        )),
    }
    let mut o = comment(&text);
    o.push_str(&comment(&format!(
        "For {c} times all year, use the systemd timer instead of cron (contrib/sigov-alerts.timer, one run-all \
         per activation; systemd >= 249 takes a time zone after the time):"
    )));
    o.push_str(&format!("#   OnCalendar=*-*-* 00/4:00:00 {c}\n"));
    o
}

/// `text` as `# ` comment lines of at most 78 columns.
fn comment(text: &str) -> String {
    let mut o = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 78 {
            o.push_str(&line);
            o.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    o.push_str(&line);
    o.push('\n');
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The note as one line, wrapping undone.
    fn note(host: Tz, configured: Tz, now: &str) -> String {
        let o = zone_note(host, "from /etc/localtime", configured, at(now));
        assert!(o.lines().all(|l| l.starts_with('#') && l.len() <= 78), "{o}");
        o.lines().map(|l| l.trim_start_matches('#').trim()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn same_clock_says_the_times_are_right() {
        for host in [Europe::Paris, Europe::Berlin] {
            let n = note(host, Europe::Paris, "2026-01-15T12:00:00Z");
            assert!(n.contains("keeps the same clock as the configured Europe/Paris"), "{n}");
            assert!(!n.contains("OnCalendar"), "{n}");
        }
        assert!(note(Tz::Etc__UTC, Tz::UTC, "2026-07-01T00:00:00Z").contains("same clock"));
    }

    /// Asserts that the note `n` says every one of `parts`.
    fn says(n: &str, parts: &[&str]) {
        for p in parts {
            assert!(n.contains(p), "{p:?} missing from: {n}");
        }
    }

    #[test]
    fn utc_host_gets_host_hours_the_dst_warning_and_the_timer() {
        // Winter: Paris is UTC+1, so its 00:00 is 23:00 UTC, its 04:00 03:00 UTC...
        says(
            &note(Tz::Etc__UTC, Europe::Paris, "2026-01-15T12:00:00Z"),
            &[
                "Debian's cron ignores it",
                "here Etc/UTC (from /etc/localtime)",
                "write the hour field 3,7,11,15,19,23 instead of */4",
                "Europe/Paris UTC+01:00, Etc/UTC UTC+00:00",
                "cannot follow another zone's daylight saving time",
                "from about 2026-03-29 the lines fire an hour off",
                "shift by an hour at each daylight saving change",
                "systemd >= 249",
                "OnCalendar=*-*-* 00/4:00:00 Europe/Paris",
            ],
        );
        // Summer: UTC+2.
        says(
            &note(Tz::Etc__UTC, Europe::Paris, "2026-07-01T12:00:00Z"),
            &["hour field 2,6,10,14,18,22", "from about 2026-10-25"],
        );
    }

    #[test]
    fn zones_changing_clocks_together_keep_a_fixed_difference() {
        let n = note(Europe::London, Europe::Paris, "2026-01-15T12:00:00Z");
        says(&n, &["hour field 3,7,11,15,19,23", "stays an hour all year", "OnCalendar=*-*-* 00/4:00:00 Europe/Paris"]);
        assert!(!n.contains("cannot follow"), "{n}");
    }

    #[test]
    fn other_cases_host_ahead_half_hours_same_offset_for_now() {
        let cases: [(Tz, Tz, &[&str]); 4] = [
            // Host ahead of the configured zone.
            (Europe::Paris, Tz::UTC, &["hour field 1,5,9,13,17,21", "OnCalendar=*-*-* 00/4:00:00 UTC"]),
            // Half-hour offsets: minutes too.
            (
                Tz::UTC,
                Asia::Kolkata,
                &["are 02:30, 06:30, 10:30, 14:30, 18:30, 22:30 UTC", "stays 5 hours 30 minutes all year"],
            ),
            // Same offset today (both UTC+1 in winter), not all year.
            (
                Tz::Africa__Lagos,
                Europe::Paris,
                &["For now both are at UTC+01:00", "from about 2026-03-29 the lines fire an hour off"],
            ),
            // Different daylight saving dates.
            (America::New_York, Europe::Paris, &["hour field 2,6,10,14,18,22", "from about 2026-03-08"]),
        ];
        for (host, configured, parts) in cases {
            says(&note(host, configured, "2026-01-15T12:00:00Z"), parts);
        }
    }

    #[test]
    fn host_zone_names_and_paths() {
        assert_eq!(zone_from_path("/usr/share/zoneinfo/Europe/Paris"), Some(Europe::Paris));
        assert_eq!(zone_from_path("../usr/share/zoneinfo/Etc/UTC"), Some(Tz::Etc__UTC));
        assert_eq!(zone_from_path("/usr/share/zoneinfo/posix/Europe/Berlin\n"), Some(Europe::Berlin));
        assert_eq!(zone_from_path("Europe/Paris\n"), Some(Europe::Paris));
        assert_eq!(zone_from_path("CET-1CEST,M3.5.0,M10.5.0/3"), None);
    }

    #[test]
    fn comments_wrap_at_78_columns() {
        let o = comment(&"word ".repeat(40));
        assert!(o.lines().count() > 1 && o.lines().all(|l| l.starts_with("# ") && l.len() <= 78), "{o}");
    }
}

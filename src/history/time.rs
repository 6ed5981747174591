//! Stored times (UTC, as the ledger and the run table keep them) shown in
//! the business time zone, for `history`, `status` and `outbox`: as text
//! (`2026-12-01 09:30 +01:00`), as RFC 3339 for JSON, and the UTC start of
//! a local day.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone};
use chrono_tz::Tz;

/// A stored UTC time in the configured zone (JSON: RFC 3339 with offset).
pub fn local(t: NaiveDateTime, tz: Tz) -> DateTime<FixedOffset> {
    t.and_utc().with_timezone(&tz).fixed_offset()
}

/// A time as text: `2026-12-01 09:00 +01:00`.
pub fn text(t: &DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M %:z").to_string()
}

/// A stored UTC time as text in `tz`: `2026-12-01 09:30 +01:00`.
pub fn text_time(t: NaiveDateTime, tz: Tz) -> String {
    text(&local(t, tz))
}

/// A stored UTC time as RFC 3339 with the zone's offset, to the second.
pub fn json_time(t: NaiveDateTime, tz: Tz) -> String {
    local(t, tz).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The UTC instant the local day `d` starts in `tz` (a day whose midnight
/// the clocks skip starts at the first instant that exists).
pub fn day_start(d: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=4 * 60)
        .step_by(15)
        .find_map(|m| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(m))).earliest())
        .map(|t| t.naive_utc())
        .unwrap_or(midnight)
}

/// A stored time written `2026-12-01 08:00:00`, for tests.
#[cfg(test)]
pub(crate) fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_with_their_offset() {
        let tz = chrono_tz::Europe::Paris;
        assert_eq!(text(&local(at("2026-12-01 08:00:00"), tz)), "2026-12-01 09:00 +01:00");
        assert_eq!(text(&local(at("2026-07-01 08:00:00"), tz)), "2026-07-01 10:00 +02:00");
        let json = serde_json::to_value(local(at("2026-12-01 08:00:00"), tz)).unwrap();
        assert_eq!(json, "2026-12-01T09:00:00+01:00");
    }

    #[test]
    fn times_show_the_zone_offset() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(text_time(at("2026-12-01 08:30:00"), paris), "2026-12-01 09:30 +01:00");
        assert_eq!(text_time(at("2026-07-01 08:30:00"), paris), "2026-07-01 10:30 +02:00");
        assert_eq!(json_time(at("2026-12-01 08:30:00"), paris), "2026-12-01T09:30:00+01:00");
        assert_eq!(json_time(at("2026-12-01 08:30:00"), chrono_tz::UTC), "2026-12-01T08:30:00+00:00");
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(day_start(d("2026-03-16"), paris), at("2026-03-15 23:00:00"));
        assert_eq!(day_start(d("2026-07-02"), paris), at("2026-07-01 22:00:00"));
        // Clocks skip midnight (America/Santiago, 2026-09-06): 01:00 local.
        assert_eq!(day_start(d("2026-09-06"), chrono_tz::America::Santiago), at("2026-09-06 04:00:00"));
    }
}

//! Builders for check unit tests.

use chrono::NaiveDate;

use super::*;

/// The business day of the check unit tests.
pub const TODAY: &str = "2026-03-16";

/// The day after [`TODAY`].
pub const NEXT_DAY: &str = "2026-03-17";

/// Checks that the alerts owed on [`NEXT_DAY`] are that day's (a daily
/// repeat) and say `text`.
pub fn assert_next_day(next: &[Alert], text: &str) {
    assert!(!next.is_empty());
    assert!(next.iter().all(|x| x.period == NEXT_DAY && x.message.contains(text)), "{next:#?}");
}

/// An enabled user with an address.
pub fn user(id: &str) -> Person {
    Person {
        id: format!("{id:0>32}"),
        first_name: format!("Prenom{id}"),
        last_name: format!("Nom{id}"),
        email: format!("{id}@example.org"),
        is_active: true,
        statut_actif: true,
        is_superuser: false,
    }
}

/// The alert to user `who` (the short id given to [`user`]).
pub fn to<'a>(alerts: &'a [Alert], who: &str) -> &'a Alert {
    let id = format!("{who:0>32}");
    alerts.iter().find(|a| a.recipient.id == id).unwrap_or_else(|| panic!("no alert to {who}"))
}

/// Checks that `alerts` go to exactly the recipients of `expected` (short
/// ids), each with `titre` and their message.
pub fn assert_alerts(alerts: &[Alert], titre: &str, expected: &[(&str, &str)]) {
    assert_eq!(alerts.len(), expected.len(), "{alerts:#?}");
    for (who, _) in expected {
        assert_eq!(to(alerts, who).titre, titre, "title to {who}");
    }
    assert_messages(alerts, expected);
}

/// Checks the message each recipient (the short id given to [`user`]) gets.
pub fn assert_messages(alerts: &[Alert], expected: &[(&str, &str)]) {
    for (who, message) in expected {
        assert_eq!(to(alerts, who).message, *message, "message to {who}");
    }
}

/// A name of exactly `n` characters, most of them two bytes long in
/// UTF-8 (so a byte count would be wrong), ending with `Z`.
pub fn long_name(n: usize) -> String {
    let mut s: String = "Réseau d'équipements ".chars().cycle().take(n - 1).collect();
    s.push('Z');
    s
}

/// Checks a title shortened by [`fit_title`] (R15): exactly 200
/// characters, `prefix` and `suffix` kept, the name part cut and ended
/// with `…`, and `name` not whole in it.
pub fn assert_fitted(titre: &str, prefix: &str, name: &str, suffix: &str) {
    assert_eq!(titre.chars().count(), TITRE_MAX, "{titre}");
    assert!(titre.starts_with(prefix), "{titre}");
    assert!(titre.ends_with(suffix), "{titre}");
    let middle = &titre[prefix.len()..titre.len() - suffix.len()];
    assert!(middle.ends_with('…'), "{middle}");
    assert!(name.starts_with(middle.trim_end_matches('…')), "{middle}");
    assert!(!titre.contains(name));
}

/// A date from `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

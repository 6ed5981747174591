//! Tests of the registry and the shared alert helpers.

use super::*;

#[test]
fn dashed_uuid_form() {
    assert_eq!(dashed("aaaaaaaa000040008000000000000b02"), "aaaaaaaa-0000-4000-8000-000000000b02");
}

#[test]
fn fit_title_keeps_short_titles_unchanged() {
    assert_eq!(fit_title("🔴 Projet ", "Portail RH", " - EN RETARD"), "🔴 Projet Portail RH - EN RETARD");
    let exact = testkit::long_name(TITRE_MAX - 2);
    assert_eq!(fit_title("[", &exact, "]").chars().count(), TITRE_MAX);
    assert_eq!(fit_title("[", &exact, "]"), format!("[{exact}]"));
}

#[test]
fn fit_title_cuts_the_name_to_exactly_200_characters() {
    let name = testkit::long_name(200);
    for (prefix, suffix) in
        [("⚠️ Projet ", " - Fin dans 7 jours"), ("🔴 Tâche en retard - ", ""), ("🔴 Projet ", " - EN RETARD")]
    {
        let t = fit_title(prefix, &name, suffix);
        testkit::assert_fitted(&t, prefix, &name, suffix);
    }
    // One character too many is enough to cut.
    let t = fit_title("", &testkit::long_name(201), "");
    assert_eq!(t.chars().count(), TITRE_MAX);
    assert!(t.ends_with('…'));
}

#[test]
fn fit_title_counts_code_points_as_mariadb() {
    // ⚠️ is U+26A0 U+FE0F: two characters for MariaDB.
    assert_eq!("⚠️".chars().count(), 2);
    let name = "x".repeat(200);
    let t = fit_title("⚠️ ", &name, "");
    assert_eq!(t.chars().count(), TITRE_MAX);
    assert_eq!(t, format!("⚠️ {}…", "x".repeat(196)));
}

#[test]
fn fit_title_with_a_prefix_longer_than_the_column_keeps_its_start() {
    let prefix = "p".repeat(250);
    assert_eq!(fit_title(&prefix, "nom", "s"), "p".repeat(TITRE_MAX));
}

#[test]
fn jours_text_singular_plural() {
    assert_eq!(jours_text(1), "1 jour");
    assert_eq!(jours_text(2), "2 jours");
    assert_eq!(jours_text(0), "0 jours");
}

#[test]
fn every_check_has_a_distinct_slug_and_command() {
    for c in Check::ALL {
        assert_eq!(Check::from_slug(c.slug()), Some(c));
        assert_eq!(c.command_name().replace('-', "_"), format!("check_{}", c.slug()));
    }
}

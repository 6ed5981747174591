//! The display names the app's templates show for its stored codes (Django's
//! `get_…_display()`: `niveau`, project status, stage type) and the header
//! sanitising of ruling R11. Alert kinds carry their own names
//! (`AlertKind::label`).

/// `niveau` display names.
pub fn niveau_display(niveau: &str) -> &str {
    match niveau {
        "INFO" => "Information",
        "WARNING" => "Avertissement",
        "DANGER" => "Critique",
        other => other,
    }
}

/// Project status display names.
pub fn statut_display(code: &str) -> &str {
    match code {
        "IDEE" => "Idée",
        "AFFECTE" => "Affecté",
        "PLANIFIE" => "Planifié",
        "EN_COURS" => "En cours",
        "SUSPENDU" => "Suspendu",
        "TERMINE" => "Terminé",
        "ARCHIVE" => "Archivé",
        other => other,
    }
}

/// Stage type display names (`CONCEPTION` → `Conception`).
pub fn etape_display(code: &str) -> &str {
    match code {
        "PLANIFICATION" => "Planification",
        "CONCEPTION" => "Conception",
        "DEVELOPPEMENT" => "Développement",
        "TESTS" => "Tests",
        "DEPLOIEMENT" => "Déploiement",
        "MAINTENANCE" => "Maintenance",
        other => other,
    }
}

/// R11: control characters (Unicode Cc: CR, LF, NEL U+0085, …) and the line
/// and paragraph separators U+2028 and U+2029 become spaces in a header
/// value, as Python's mail stack shows them.
pub fn header_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c }).collect()
}

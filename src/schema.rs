//! The app's schema as this tool depends on it: every column of the app's
//! tables that our statements name. A leaf: `db` writes the statements,
//! `doctor` checks the columns exist, `error` names the table of a missing
//! one.

/// Every column of the app's tables that the statements of `db::read`,
/// `db::write` and `db::outbox` name, by table (`doctor` checks them all; a
/// test keeps this list in step with the SQL). Laid out as a table, one
/// line per app table.
#[rustfmt::skip]
pub const APP_COLUMNS: &[(&str, &[&str])] = &[
    ("core_utilisateur", &["id", "first_name", "last_name", "email", "is_active", "statut_actif", "is_superuser"]),
    ("core_statutprojet", &["id", "nom"]),
    ("core_projet", &["id", "nom", "client", "statut_id", "createur_id", "date_fin", "date_creation", "budget_previsionnel", "devise"]),
    ("core_affectation", &["id", "projet_id", "utilisateur_id", "est_responsable_principal", "date_fin"]),
    ("core_typeetape", &["id", "nom"]),
    ("core_etapeprojet", &["id", "projet_id", "type_etape_id", "ordre", "statut", "date_fin_prevue", "date_fin_reelle"]),
    ("core_tacheetape", &["id", "nom", "statut", "date_fin", "etape_id", "responsable_id"]),
    ("core_lignebudget", &["projet_id", "type_ligne", "montant"]),
    ("core_contratgarantie", &["id", "projet_id", "type_garantie", "date_debut", "date_fin"]),
    ("core_alerteprojet", &["id", "type_alerte", "niveau", "titre", "message", "lue", "date_creation", "date_lecture",
        "donnees_contexte", "destinataire_id", "projet_id"]),
    ("core_notificationetape", &["id", "type_notification", "titre", "message", "lue", "date_creation", "date_lecture",
        "donnees_contexte", "destinataire_id", "emetteur_id", "etape_id", "cas_test_id"]),
];

//! Alert → e-mail (docs/rules.md §4, rulings R6, R7, R11): subject, text
//! part byte-exact with the app's layout, HTML part escaped by the template
//! engine. Pure: a function of the row, the people and the configuration.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use minijinja::value::Value;
use minijinja::{Environment, context};
use serde::Serialize;

use crate::checks::{Alert, AlertKind, AppTable, ProjectFacts, StageFacts};
use crate::error::{Error, Result};

/// What an e-mail is rendered from: an app row (fresh or read back).
#[derive(Debug, Clone, Copy)]
pub struct MailInput<'a> {
    /// Which app table the row is in.
    pub table: AppTable,
    /// `type_alerte` / `type_notification`.
    pub kind: AlertKind,
    /// `niveau` (empty for stages).
    pub niveau: &'a str,
    /// `titre`.
    pub titre: &'a str,
    /// `message`.
    pub message: &'a str,
    /// `donnees_contexte`.
    pub contexte: &'a str,
    /// `date_creation`, UTC.
    pub created_at: NaiveDateTime,
    /// Recipient's full name.
    pub recipient_name: &'a str,
    /// The project.
    pub project: &'a ProjectFacts,
    /// The stage (stage notifications).
    pub stage: Option<&'a StageFacts>,
}

impl<'a> MailInput<'a> {
    /// The e-mail input of a fresh alert created at `created_at`.
    pub fn from_alert(alert: &'a Alert, name: &'a str, created_at: NaiveDateTime) -> Self {
        MailInput {
            table: alert.table,
            kind: alert.kind,
            niveau: alert.niveau,
            titre: &alert.titre,
            message: &alert.message,
            contexte: &alert.contexte,
            created_at,
            recipient_name: name,
            project: &alert.project,
            stage: alert.stage.as_ref(),
        }
    }
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email {
    /// Subject, free of control characters (R11).
    pub subject: String,
    /// text/plain part.
    pub text: String,
    /// text/html part.
    #[serde(skip)]
    pub html: String,
}

pub use super::labels::{etape_display, header_safe, niveau_display, statut_display};

const FOOTER: &str = "Connectez-vous à SI-Gouvernance pour plus de détails.\n\n\
Cordialement,\nL'équipe SI-Gouvernance JCM\n\n---\n\
Ceci est un email automatique, merci de ne pas y répondre.";

/// Renders e-mails with the configured time zone and base URL.
pub struct Renderer {
    env: Environment<'static>,
    tz: Tz,
    base_url: String,
}

impl Renderer {
    /// A renderer; templates are compiled in.
    pub fn new(tz: Tz, base_url: &str) -> Result<Renderer> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, src) in [
            ("layout.html", include_str!("../../templates/layout.html")),
            ("alert.html", include_str!("../../templates/alert.html")),
            ("stage.html", include_str!("../../templates/stage.html")),
            ("digest.html", include_str!("../../templates/digest.html")),
        ] {
            env.add_template(name, src).map_err(|e| Error::Internal(format!("template {name}: {e}")))?;
        }
        Ok(Renderer { env, tz, base_url: base_url.trim_end_matches('/').to_string() })
    }

    /// R6: the row's UTC `date_creation` shown in the business time zone.
    pub fn local_time(&self, utc: NaiveDateTime) -> String {
        utc.and_utc().with_timezone(&self.tz).format("%d/%m/%Y à %H:%M").to_string()
    }

    /// Renders one digest e-mail listing `items`, grouped
    /// by check in run order (`mail_mode = "digest"`).
    pub fn render_digest(&self, name: &str, items: &[MailInput<'_>]) -> Result<Email> {
        let n = items.len();
        let subject = header_safe(&format!(
            "[SI-Gouvernance] {n} {}",
            if n == 1 { "nouvelle alerte" } else { "nouvelles alertes" }
        ));
        let when = items.iter().map(|m| m.created_at).max().map(|t| self.local_time(t)).unwrap_or_default();
        let mut text = format!("Bonjour {name},\n\nVous avez {n} nouvelles alertes sur SI-Gouvernance.\n");
        let mut groups = Vec::new();
        for check in crate::checks::Check::ALL {
            let members: Vec<&MailInput<'_>> = items.iter().filter(|m| m.kind.check() == check).collect();
            if members.is_empty() {
                continue;
            }
            let heading = check.spec().heading;
            text.push_str(&format!("\n== {heading} ({}) ==\n", members.len()));
            let mut list = Vec::new();
            for m in members {
                text.push_str(&format!(
                    "\n{}\n{}\n- Projet: {} / Client: {}\n",
                    m.titre, m.message, m.project.nom, m.project.client
                ));
                list.push(context! { titre => m.titre, message => m.message, projet => &m.project.nom, client => &m.project.client });
            }
            groups.push(context! { heading => heading, items => list });
        }
        text.push_str(&format!("\nDate de notification: {when}\n\n{FOOTER}"));
        let html = self
            .env
            .get_template("digest.html")
            .and_then(|t| {
                t.render(context! {
                    subject => &subject,
                    header_color => "#d97706",
                    header_title => "⚠️ Vos alertes SI-Gouvernance",
                    header_subtitle => "Récapitulatif de vos nouvelles alertes",
                    logo_url => Value::from_safe_string(format!("{}/media/logos/jconsult_logo.png", self.base_url)),
                    destinataire_nom => name,
                    count => n,
                    groups => groups,
                    date_alerte => &when,
                    lien => Value::from_safe_string(format!("{}/", self.base_url)),
                })
            })
            .map_err(|e| Error::Internal(format!("rendering digest.html: {e}")))?;
        Ok(Email { subject, text, html })
    }

    /// Renders the e-mail of one row.
    pub fn render(&self, m: &MailInput<'_>) -> Result<Email> {
        let ctx: serde_json::Map<String, serde_json::Value> = serde_json::from_str(m.contexte).unwrap_or_default();
        let int = |k: &str| ctx.get(k).map(|v| v.to_string());
        let jours_restants = int("jours_restants");
        let jours_retard = int("jours_retard");
        let when = self.local_time(m.created_at);
        // R11: links come only from the configured base URL (normalised by
        // the URL parser, so free of quotes) and ids, never from user data.
        let lien =
            Value::from_safe_string(format!("{}/projets/{}/", self.base_url, crate::checks::dashed(&m.project.id)));
        let logo_url = Value::from_safe_string(format!("{}/media/logos/jconsult_logo.png", self.base_url));
        let p = m.project;
        match m.table {
            AppTable::AlerteProjet => {
                let subject = header_safe(&format!("[SI-Gouvernance] ⚠️ Alerte: {}", m.titre));
                let mut text = format!(
                    "Bonjour {},\n\n{}\n\nDétails de l'alerte:\n- Type: {}\n- Niveau: {}\n- Projet: {}\n- Client: {}\n",
                    m.recipient_name,
                    m.message,
                    m.kind.label(),
                    niveau_display(m.niveau),
                    p.nom,
                    p.client
                );
                if let Some(n) = &jours_restants {
                    text.push_str(&format!("- Jours restants: {n}\n"));
                }
                if let Some(n) = &jours_retard {
                    text.push_str(&format!("- Jours de retard: {n}\n"));
                }
                text.push_str(&format!("\nDate de notification: {when}\n\n{FOOTER}"));
                let truthy = |v: &Option<String>| v.clone().filter(|s| s != "0" && s != "null");
                let html = self
                    .env
                    .get_template("alert.html")
                    .and_then(|t| {
                        t.render(context! {
                            subject => &subject,
                            header_color => if m.niveau == "DANGER" { "#dc2626" } else { "#d97706" },
                            header_title => "⚠️ Alerte Projet",
                            header_subtitle => "Action requise sur votre projet",
                            logo_url => logo_url.clone(),
                            destinataire_nom => m.recipient_name,
                            type_display => m.kind.label(),
                            niveau_display => niveau_display(m.niveau),
                            message => m.message,
                            projet_nom => &p.nom,
                            client => &p.client,
                            statut_display => statut_display(&p.statut),
                            jours_restants => truthy(&jours_restants),
                            jours_retard => truthy(&jours_retard),
                            date_alerte => &when,
                            lien => lien.clone(),
                        })
                    })
                    .map_err(|e| Error::Internal(format!("rendering alert.html: {e}")))?;
                Ok(Email { subject, text, html })
            }
            AppTable::NotificationEtape => {
                let subject = header_safe(&format!("[SI-Gouvernance] Étape: {}", m.titre));
                let (code, ordre) = m.stage.map(|s| (s.code.as_str(), s.ordre)).unwrap_or(("", 0));
                let text = format!(
                    "Bonjour {},\n\n{}\n\nDétails de l'étape:\n- Étape: {}\n- Projet: {}\n- Client: {}\n- Ordre: Étape {}\n\nDate de notification: {when}\n\n{FOOTER}",
                    m.recipient_name,
                    m.message,
                    etape_display(code),
                    p.nom,
                    p.client,
                    ordre
                );
                let html = self
                    .env
                    .get_template("stage.html")
                    .and_then(|t| {
                        t.render(context! {
                            subject => &subject,
                            header_color => "#dc2626",
                            header_title => "🔴 Étape en retard",
                            header_subtitle => "Action requise sur une étape de votre projet",
                            logo_url => logo_url.clone(),
                            destinataire_nom => m.recipient_name,
                            titre => m.titre,
                            message => m.message,
                            etape_display => etape_display(code),
                            projet_nom => &p.nom,
                            client => &p.client,
                            ordre => ordre,
                            date_alerte => &when,
                            lien => lien.clone(),
                        })
                    })
                    .map_err(|e| Error::Internal(format!("rendering stage.html: {e}")))?;
                Ok(Email { subject, text, html })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn project() -> ProjectFacts {
        ProjectFacts {
            id: "aaaaaaaa000040008000000000000b02".into(),
            nom: "Portail <RH>\r\nBcc: x@evil".into(),
            client: "ACME & Co".into(),
            statut: "EN_COURS".into(),
        }
    }

    fn at(h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 16).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    fn renderer() -> Renderer {
        Renderer::new(chrono_tz::Europe::Paris, "https://gouv.example/").unwrap()
    }

    #[test]
    fn alert_text_layout_is_the_apps_with_local_time_r6() {
        let p = ProjectFacts { nom: "Portail RH".into(), client: "ACME".into(), ..project() };
        let m = MailInput {
            table: AppTable::AlerteProjet,
            kind: AlertKind::EcheanceJ7,
            niveau: "WARNING",
            titre: "⚠️ Projet Portail RH - Fin dans 7 jours",
            message: "Le projet 'Portail RH' se termine dans 7 jours (23/03/2026). X",
            contexte: r#"{"jours_restants": 7, "date_fin": "2026-03-23", "type_alerte": "J-7"}"#,
            created_at: at(7, 0),
            recipient_name: "Alice Martin",
            project: &p,
            stage: None,
        };
        let e = renderer().render(&m).unwrap();
        assert_eq!(e.subject, "[SI-Gouvernance] ⚠️ Alerte: ⚠️ Projet Portail RH - Fin dans 7 jours");
        assert_eq!(
            e.text,
            "Bonjour Alice Martin,\n\nLe projet 'Portail RH' se termine dans 7 jours (23/03/2026). X\n\n\
             Détails de l'alerte:\n- Type: Échéance dans 7 jours\n- Niveau: Avertissement\n- Projet: Portail RH\n\
             - Client: ACME\n- Jours restants: 7\n\nDate de notification: 16/03/2026 à 08:00\n\n\
             Connectez-vous à SI-Gouvernance pour plus de détails.\n\nCordialement,\nL'équipe SI-Gouvernance JCM\n\n\
             ---\nCeci est un email automatique, merci de ne pas y répondre."
        );
        assert!(e.html.contains("https://gouv.example/projets/aaaaaaaa-0000-4000-8000-000000000b02/"));
        assert!(e.html.contains("En cours"));
        assert!(e.html.contains("7 jours"));
    }

    /// The title and message of an overdue project, as the check writes them.
    fn overdue_texts(p: &ProjectFacts) -> (String, String) {
        (format!("🔴 Projet {} - EN RETARD", p.nom), format!("Le projet '{}' est en retard de 2 jours. ", p.nom))
    }

    /// An overdue-project row to `name`.
    fn overdue<'a>(titre: &'a str, message: &'a str, name: &'a str, p: &'a ProjectFacts) -> MailInput<'a> {
        MailInput {
            table: AppTable::AlerteProjet,
            kind: AlertKind::EcheanceDepassee,
            niveau: "DANGER",
            titre,
            message,
            contexte: r#"{"jours_retard": 2}"#,
            created_at: at(7, 0),
            recipient_name: name,
            project: p,
            stage: None,
        }
    }

    #[test]
    fn hostile_project_name_header_safe_html_escaped_text_raw_r11() {
        let p = project();
        let (titre, message) = overdue_texts(&p);
        let m = overdue(&titre, &message, "A", &p);
        let e = renderer().render(&m).unwrap();
        assert!(!e.subject.contains('\r') && !e.subject.contains('\n'));
        assert!(e.subject.contains("Portail <RH>  Bcc: x@evil"));
        assert!(e.text.contains("Portail <RH>\r\nBcc: x@evil"));
        assert!(e.text.contains("- Jours de retard: 2\n"));
        assert!(e.html.contains("Portail &lt;RH&gt;"));
        assert!(!e.html.contains("<RH>"));
        assert!(e.html.contains("ACME &amp; Co"));
    }

    #[test]
    fn digest_groups_alerts_by_check_in_run_order() {
        let p = ProjectFacts { nom: "P <x>".into(), client: "C".into(), ..project() };
        let m = |kind, titre| MailInput {
            table: AppTable::AlerteProjet,
            kind,
            niveau: "DANGER",
            titre,
            message: "M",
            contexte: "{}",
            created_at: at(7, 0),
            recipient_name: "B",
            project: &p,
            stage: None,
        };
        let items =
            vec![m(AlertKind::BudgetDepasse, "Budget"), m(AlertKind::EcheanceJ3, "J3"), m(AlertKind::EcheanceJ1, "J1")];
        let e = renderer().render_digest("Bruno Petit", &items).unwrap();
        assert_eq!(e.subject, "[SI-Gouvernance] 3 nouvelles alertes");
        let projects = e.text.find("== Échéances des projets (2) ==").unwrap();
        let budget = e.text.find("== Budgets dépassés (1) ==").unwrap();
        assert!(projects < budget);
        assert!(e.text.starts_with("Bonjour Bruno Petit,\n\nVous avez 3 nouvelles alertes"));
        assert!(e.html.contains("P &lt;x&gt;") && !e.html.contains("P <x>"));
    }

    #[test]
    fn stage_mail_is_multipart_with_display_name_r7() {
        let p = ProjectFacts { nom: "P".into(), client: "C".into(), ..project() };
        let s = StageFacts { id: "e".into(), code: "CONCEPTION".into(), ordre: 2 };
        let m = MailInput {
            table: AppTable::NotificationEtape,
            kind: AlertKind::RetardEtape,
            niveau: "",
            titre: "🔴 Étape CONCEPTION - EN RETARD",
            message: "M",
            contexte: "{}",
            created_at: at(23, 30),
            recipient_name: "B",
            project: &p,
            stage: Some(&s),
        };
        let e = renderer().render(&m).unwrap();
        assert_eq!(e.subject, "[SI-Gouvernance] Étape: 🔴 Étape CONCEPTION - EN RETARD");
        assert_eq!(
            e.text,
            "Bonjour B,\n\nM\n\nDétails de l'étape:\n- Étape: Conception\n- Projet: P\n- Client: C\n- Ordre: Étape 2\n\n\
             Date de notification: 17/03/2026 à 00:30\n\nConnectez-vous à SI-Gouvernance pour plus de détails.\n\n\
             Cordialement,\nL'équipe SI-Gouvernance JCM\n\n---\nCeci est un email automatique, merci de ne pas y répondre."
        );
        assert!(e.html.contains("Conception") && e.html.contains("Étape 2"));
    }

    #[test]
    fn header_safe_replaces_controls_and_unicode_line_breaks_r11() {
        assert_eq!(header_safe("a\rb\nc\td\u{0}e\u{7f}f"), "a b c d e f");
        assert_eq!(header_safe("a\u{0085}b\u{2028}c\u{2029}d"), "a b c d");
        // Other separators and format characters are not line breaks: kept.
        assert_eq!(header_safe("a\u{00a0}b\u{200b}c\u{fe0f}"), "a\u{00a0}b\u{200b}c\u{fe0f}");
        assert_eq!(header_safe("⚠️ Projet Portail RH"), "⚠️ Projet Portail RH");
    }

    #[test]
    fn unicode_line_separators_in_a_project_name_are_spaces_in_the_subject_only_r11() {
        let p = ProjectFacts { nom: "Portail\u{2028}RH\u{2029}Paie\u{0085}2026".into(), ..project() };
        let (titre, message) = overdue_texts(&p);
        let m = overdue(&titre, &message, "Alice\u{2028}Martin", &p);
        let e = renderer().render(&m).unwrap();
        assert_eq!(e.subject, "[SI-Gouvernance] ⚠️ Alerte: 🔴 Projet Portail RH Paie 2026 - EN RETARD");
        // Bodies keep the raw value.
        assert!(e.text.contains("Le projet 'Portail\u{2028}RH\u{2029}Paie\u{0085}2026'"));
        assert!(e.text.starts_with("Bonjour Alice\u{2028}Martin,"));
        assert!(e.html.contains("Portail\u{2028}RH"));
        let stage = StageFacts { id: "e".into(), code: "CONCEPTION".into(), ordre: 1 };
        let m = MailInput { table: AppTable::NotificationEtape, titre: "Étape\u{2028}X", stage: Some(&stage), ..m };
        assert_eq!(renderer().render(&m).unwrap().subject, "[SI-Gouvernance] Étape: Étape X");
    }
}

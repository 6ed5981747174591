//! Every read of the app's tables. Reads are set-based: a fixed number of
//! queries per check whatever the data size (ruling R13), and the due/overdue
//! filters are applied in SQL with today's dates and the rules' constants
//! bound as parameters. [`candidates`] is each check's entry: its reads, then
//! its rules.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, QueryBuilder, Row};
use tracing::instrument;

use super::{Db, person};
use crate::checks::budget::BudgetRow;
use crate::checks::contracts::{ContractRow, WARNING_DAYS};
use crate::checks::project_deadlines::{ProjectRow, threshold_dates};
use crate::checks::stage_delays::StageRow;
use crate::checks::task_deadlines::{OPEN, TaskRow};
use crate::checks::team::MemberRow;
use crate::checks::{self, Alert, AppTable, Check, DedupRule, Person, ProjectFacts, StageFacts};
use crate::db::Within;
use crate::error::{Error, Result};
use crate::person_cols;

/// The project columns [`project`] decodes (`p` the project, `s` its status).
macro_rules! project_cols {
    () => {
        "p.id AS p_id, p.nom AS p_nom, p.client AS p_client, s.nom AS p_statut"
    };
}

type SqlResult<T> = std::result::Result<T, sqlx::Error>;

/// Reads the inputs of `check` and evaluates its rules: every alert it owes
/// on `today`, before deduplication.
pub async fn candidates(db: &mut Db, check: Check, today: NaiveDate) -> Result<Vec<Alert>> {
    Ok(match check {
        Check::ProjectDeadlines => {
            let (rows, members) = fetch_project_deadlines(db, today).await?;
            checks::project_deadlines::evaluate(&rows, &members, today)
        }
        Check::StageDelays => {
            let (rows, members) = fetch_stage_delays(db, today).await?;
            checks::stage_delays::evaluate(&rows, &members, today)
        }
        Check::TaskDeadlines => {
            let (rows, members) = fetch_task_deadlines(db, today).await?;
            checks::task_deadlines::evaluate(&rows, &members, today)
        }
        Check::Budget => {
            let (rows, members) = fetch_budget(db).await?;
            checks::budget::evaluate(&rows, &members, today)
        }
        Check::ContractExpiration => {
            let (rows, superusers, members) = fetch_contracts(db, today).await?;
            checks::contracts::evaluate(&rows, &superusers, &members, today)
        }
    })
}

fn project(row: &MySqlRow) -> SqlResult<ProjectFacts> {
    Ok(ProjectFacts {
        id: row.try_get("p_id")?,
        nom: row.try_get("p_nom")?,
        client: row.try_get("p_client")?,
        statut: row.try_get("p_statut")?,
    })
}

fn member(row: &MySqlRow) -> SqlResult<MemberRow> {
    Ok(MemberRow {
        project_id: row.try_get("projet_id")?,
        assignment_id: row.try_get("a_id")?,
        principal: row.try_get("est_responsable_principal")?,
        person: person(row, "u_")?,
    })
}

fn decode<T>(what: &str, rows: Vec<MySqlRow>, f: fn(&MySqlRow) -> SqlResult<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect::<SqlResult<Vec<T>>>().map_err(|e| Error::db(what, e))
}

/// Runs `query`, decodes its rows with `f`, and reads the active
/// assignments of their projects.
async fn read_with_members<T: OnProject>(
    db: &mut Db,
    what: &str,
    query: sqlx::query::Query<'_, MySql, sqlx::mysql::MySqlArguments>,
    f: fn(&MySqlRow) -> SqlResult<T>,
) -> Result<(Vec<T>, Vec<MemberRow>)> {
    let rows = query.fetch_all(db.conn()).within(what).await?;
    let items = decode(what, rows, f)?;
    let members = fetch_members(db, what, items.iter().map(OnProject::project_id)).await?;
    Ok((items, members))
}

/// A candidate row about one project.
trait OnProject {
    fn project_id(&self) -> &str;
}

macro_rules! on_project {
    ($($t:ty),+) => {
        $(impl OnProject for $t {
            fn project_id(&self) -> &str {
                &self.project.id
            }
        })+
    };
}
on_project!(ProjectRow, StageRow, TaskRow, BudgetRow, ContractRow);

/// Active assignments of `projects`, in one query (an `IN` list of the
/// ids the check already read, so the candidates are not scanned twice).
async fn fetch_members<'a>(
    db: &mut Db,
    what: &str,
    projects: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<MemberRow>> {
    let ids: std::collections::BTreeSet<&str> = projects.into_iter().collect();
    let mut out = Vec::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let ids: Vec<&str> = ids.into_iter().collect();
    // One statement unless there are more projects than placeholders allowed.
    for chunk in ids.chunks(60_000) {
        // language=MySQL
        let mut qb: QueryBuilder<MySql> = QueryBuilder::new(concat!(
            "SELECT a.projet_id, a.id AS a_id, a.est_responsable_principal, ",
            person_cols!("u", "u_"),
            " FROM core_affectation a JOIN core_utilisateur u ON u.id = a.utilisateur_id",
            " WHERE a.date_fin IS NULL AND a.projet_id IN ("
        ));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(") ORDER BY a.projet_id, a.id");
        let rows = qb.build().fetch_all(db.conn()).within(what).await?;
        out.extend(decode(what, rows, member)?);
    }
    Ok(out)
}

// language=MySQL
macro_rules! pd_filter {
    () => {
        " FROM core_projet p JOIN core_statutprojet s ON s.id = p.statut_id \
          JOIN core_utilisateur c ON c.id = p.createur_id \
          WHERE s.nom = 'EN_COURS' AND p.date_fin IS NOT NULL \
          AND (p.date_fin < ? OR p.date_fin IN (?, ?, ?))"
    };
}

/// §3.1 inputs: overdue or J-7/J-3/J-1 `EN_COURS` projects with their
/// creator, and their active assignments. Two queries.
#[instrument(skip_all)]
pub async fn fetch_project_deadlines(db: &mut Db, today: NaiveDate) -> Result<(Vec<ProjectRow>, Vec<MemberRow>)> {
    const WHAT: &str = "reading project deadlines";
    let [j7, j3, j1] = threshold_dates(today);
    // language=MySQL
    let sql = concat!(
        "SELECT ",
        project_cols!(),
        ", p.date_fin, ",
        person_cols!("c", "c_"),
        pd_filter!(),
        " ORDER BY p.date_creation DESC"
    );
    read_with_members(db, WHAT, sqlx::query(sql).bind(today).bind(j7).bind(j3).bind(j1), |r| {
        Ok(ProjectRow { project: project(r)?, date_fin: r.try_get("date_fin")?, creator: person(r, "c_")? })
    })
    .await
}

/// §3.2 inputs: running stages past their planned end, with project,
/// creator and the projects' active assignments. Two queries.
#[instrument(skip_all)]
pub async fn fetch_stage_delays(db: &mut Db, today: NaiveDate) -> Result<(Vec<StageRow>, Vec<MemberRow>)> {
    const WHAT: &str = "reading stage delays";
    // language=MySQL
    let sql = concat!(
        "SELECT STRAIGHT_JOIN e.id AS e_id, t.nom AS e_code, e.ordre, e.statut, e.date_fin_prevue, ",
        "(e.date_fin_reelle IS NOT NULL) AS finished, ",
        project_cols!(),
        ", ",
        person_cols!("c", "c_"),
        " FROM core_etapeprojet e JOIN core_typeetape t ON t.id = e.type_etape_id",
        " JOIN core_projet p ON p.id = e.projet_id JOIN core_statutprojet s ON s.id = p.statut_id",
        " JOIN core_utilisateur c ON c.id = p.createur_id",
        " WHERE e.statut = 'EN_COURS' AND e.date_fin_reelle IS NULL",
        " AND e.date_fin_prevue IS NOT NULL AND e.date_fin_prevue < ?",
        " ORDER BY e.id"
    );
    read_with_members(db, WHAT, sqlx::query(sql).bind(today), |r| {
        Ok(StageRow {
            stage: StageFacts { id: r.try_get("e_id")?, code: r.try_get("e_code")?, ordre: r.try_get("ordre")? },
            statut: r.try_get("statut")?,
            date_fin_prevue: r.try_get("date_fin_prevue")?,
            date_fin_reelle_set: r.try_get::<i64, _>("finished")? != 0,
            project: project(r)?,
            creator: person(r, "c_")?,
        })
    })
    .await
}

/// §3.3 inputs: open overdue tasks with assignee and project, and the
/// projects' active assignments. Two queries.
#[instrument(skip_all)]
pub async fn fetch_task_deadlines(db: &mut Db, today: NaiveDate) -> Result<(Vec<TaskRow>, Vec<MemberRow>)> {
    const WHAT: &str = "reading task deadlines";
    // language=MySQL
    let sql = concat!(
        // The task table is scanned once (no index serves the filter); start
        // from it rather than let the optimiser walk every project's stages.
        "SELECT STRAIGHT_JOIN t.id AS t_id, t.nom AS t_nom, t.statut AS t_statut, t.date_fin AS t_date_fin, ",
        project_cols!(),
        ", ",
        person_cols!("r", "r_"),
        " FROM core_tacheetape t JOIN core_etapeprojet e ON e.id = t.etape_id",
        " JOIN core_projet p ON p.id = e.projet_id JOIN core_statutprojet s ON s.id = p.statut_id",
        " LEFT JOIN core_utilisateur r ON r.id = t.responsable_id",
        " WHERE t.statut IN (?, ?, ?) AND t.date_fin IS NOT NULL AND t.date_fin < ?",
        " ORDER BY t.id"
    );
    let [a, b, c] = OPEN;
    read_with_members(db, WHAT, sqlx::query(sql).bind(a).bind(b).bind(c).bind(today), |r| {
        let assignee = match r.try_get::<Option<String>, _>("r_id")? {
            Some(_) => Some(person(r, "r_")?),
            None => None,
        };
        Ok(TaskRow {
            id: r.try_get("t_id")?,
            nom: r.try_get("t_nom")?,
            statut: r.try_get("t_statut")?,
            date_fin: r.try_get("t_date_fin")?,
            assignee,
            project: project(r)?,
        })
    })
    .await
}

// language=MySQL
macro_rules! budget_sums {
    () => {
        "(SELECT l.projet_id, \
           SUM(CASE WHEN l.type_ligne = 'MATERIEL' COLLATE utf8mb4_bin THEN l.montant ELSE 0 END) AS materiel, \
           SUM(CASE WHEN l.type_ligne = 'SERVICE' COLLATE utf8mb4_bin THEN l.montant ELSE 0 END) AS service \
         FROM core_lignebudget l GROUP BY l.projet_id)"
    };
}

// language=MySQL
macro_rules! budget_filter {
    () => {
        concat!(
            " FROM core_projet p JOIN core_statutprojet s ON s.id = p.statut_id",
            " JOIN core_utilisateur c ON c.id = p.createur_id JOIN ",
            budget_sums!(),
            " b ON b.projet_id = p.id",
            " WHERE s.nom = 'EN_COURS' AND p.budget_previsionnel > 0",
            " AND b.materiel + b.service > p.budget_previsionnel"
        )
    };
}

/// §3.4 inputs: `EN_COURS` projects whose MATERIEL + SERVICE lines exceed
/// the budget (sums by `GROUP BY`, exact decimals), and their assignments.
#[instrument(skip_all)]
pub async fn fetch_budget(db: &mut Db) -> Result<(Vec<BudgetRow>, Vec<MemberRow>)> {
    const WHAT: &str = "reading budgets";
    // language=MySQL
    let sql = concat!(
        "SELECT ",
        project_cols!(),
        ", p.devise, ",
        "p.budget_previsionnel, b.materiel, b.service, ",
        person_cols!("c", "c_"),
        budget_filter!(),
        " ORDER BY p.date_creation DESC"
    );
    read_with_members(db, WHAT, sqlx::query(sql), |r| {
        Ok(BudgetRow {
            project: project(r)?,
            devise: r.try_get("devise")?,
            budget: r.try_get::<Decimal, _>("budget_previsionnel")?,
            materiel: r.try_get::<Decimal, _>("materiel")?,
            service: r.try_get::<Decimal, _>("service")?,
            creator: person(r, "c_")?,
        })
    })
    .await
}

/// §3.5 inputs: contracts within [`WARNING_DAYS`] of expiry or expired, every
/// superuser, and the contracts' projects' assignments. Three queries.
#[instrument(skip_all)]
pub async fn fetch_contracts(db: &mut Db, today: NaiveDate) -> Result<(Vec<ContractRow>, Vec<Person>, Vec<MemberRow>)> {
    const WHAT: &str = "reading maintenance contracts";
    let horizon = today + chrono::Days::new(WARNING_DAYS.unsigned_abs());
    // language=MySQL
    let sql = concat!(
        "SELECT k.id AS k_id, k.type_garantie, k.date_debut, k.date_fin, ",
        project_cols!(),
        " FROM core_contratgarantie k JOIN core_projet p ON p.id = k.projet_id",
        " JOIN core_statutprojet s ON s.id = p.statut_id",
        " WHERE (k.date_debut <= ? AND k.date_fin >= ? AND k.date_fin <= ?) OR k.date_fin < ?",
        " ORDER BY k.date_debut DESC, k.id"
    );
    let rows =
        sqlx::query(sql).bind(today).bind(today).bind(horizon).bind(today).fetch_all(db.conn()).within(WHAT).await?;
    let contracts = decode(WHAT, rows, |r| {
        Ok(ContractRow {
            id: r.try_get("k_id")?,
            type_garantie: r.try_get("type_garantie")?,
            date_debut: r.try_get("date_debut")?,
            date_fin: r.try_get("date_fin")?,
            project: project(r)?,
        })
    })?;
    // language=MySQL
    let sql =
        concat!("SELECT ", person_cols!("u", ""), " FROM core_utilisateur u WHERE u.is_superuser = 1 ORDER BY u.id");
    let rows = sqlx::query(sql).fetch_all(db.conn()).within(WHAT).await?;
    let superusers = decode(WHAT, rows, |r| person(r, ""))?;
    let members = fetch_members(db, WHAT, contracts.iter().map(OnProject::project_id)).await?;
    Ok((contracts, superusers, members))
}

/// The identity upstream deduplicates on: (recipient, target, type, extra),
/// where target is the project (or the stage) and extra the dashed task or
/// contract id, or empty.
pub type AppDedupKey = (String, String, String, String);

/// Existing app rows that suppress today's alerts of `check` (R3a), read in
/// one query built from the check's [`crate::checks::Spec`]. `day` is today's
/// local day as UTC bounds `[start, end)` (R2).
#[instrument(skip_all, fields(check = check.slug()))]
pub async fn fetch_app_dedup(
    db: &mut Db,
    check: Check,
    day: (NaiveDateTime, NaiveDateTime),
) -> Result<HashSet<AppDedupKey>> {
    let what = format!("reading existing alerts for {}", check.slug());
    let spec = check.spec();
    let (target, kind) = match spec.table {
        AppTable::AlerteProjet => ("projet_id", "type_alerte"),
        AppTable::NotificationEtape => ("etape_id", "type_notification"),
    };
    let (extra, same_day) = match spec.dedup {
        DedupRule::SameDay => (None, true),
        DedupRule::SameDayWith(key) => (Some(key), true),
        DedupRule::EverWith(key) => (Some(key), false),
    };
    let mut qb: QueryBuilder<MySql> = QueryBuilder::new(format!("SELECT destinataire_id, {target}, {kind}, "));
    match extra {
        // The key is one of the checks' own constants.
        Some(key) => qb.push(format!("COALESCE(JSON_UNQUOTE(JSON_EXTRACT(donnees_contexte, '$.\"{key}\"')), '')")),
        None => qb.push("''"),
    };
    qb.push(format!(" FROM {} WHERE {kind} IN (", spec.table.name()));
    let mut sep = qb.separated(", ");
    for k in spec.kinds {
        sep.push_bind(k.as_str());
    }
    qb.push(")");
    if same_day {
        qb.push(" AND date_creation >= ").push_bind(day.0).push(" AND date_creation < ").push_bind(day.1);
    }
    let rows = qb.build().fetch_all(db.conn()).within(&what).await?;
    let mut out = HashSet::with_capacity(rows.len());
    for r in rows {
        let key = (|| -> SqlResult<AppDedupKey> {
            Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<String, _>(3)?,
            ))
        })()
        .map_err(|e| Error::db(&what, e))?;
        out.insert(key);
    }
    Ok(out)
}

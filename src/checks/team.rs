//! A project's team as the checks see it: its active assignments, its
//! principal, each recipient's role, and the recipient sets upstream builds
//! (a Python `set` of users, so one alert per person).

use std::collections::{BTreeMap, HashMap};

use super::{Alert, Draft, Person};

/// An active assignment (`date_fin IS NULL`) on a project.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// `projet_id`.
    pub project_id: String,
    /// `core_affectation.id`: the principal is the first by this id.
    pub assignment_id: String,
    /// `est_responsable_principal`.
    pub principal: bool,
    /// The user.
    pub person: Person,
}

/// Active assignments grouped by project, each list sorted by assignment id.
pub struct Teams<'a>(HashMap<&'a str, Vec<&'a MemberRow>>);

impl<'a> Teams<'a> {
    /// Groups `members` by project.
    pub fn new(members: &'a [MemberRow]) -> Teams<'a> {
        let mut map: HashMap<&str, Vec<&MemberRow>> = HashMap::new();
        for m in members {
            map.entry(m.project_id.as_str()).or_default().push(m);
        }
        for list in map.values_mut() {
            list.sort_by(|a, b| a.assignment_id.cmp(&b.assignment_id));
        }
        Teams(map)
    }

    /// The team of `project_id` (empty when it has none).
    pub fn of(&self, project_id: &str) -> Team<'a> {
        Team { members: self.0.get(project_id).cloned().unwrap_or_default() }
    }
}

/// One project's active assignments, by assignment id.
pub struct Team<'a> {
    /// The assignments.
    pub members: Vec<&'a MemberRow>,
}

impl<'a> Team<'a> {
    /// `get_responsable_principal()`: the active principal assignment with
    /// the smallest id.
    pub fn principal(&self) -> Option<&'a Person> {
        self.members
            .iter()
            .filter(|m| m.principal)
            .min_by(|a, b| a.assignment_id.cmp(&b.assignment_id))
            .map(|m| &m.person)
    }

    /// Whether `who` has an active assignment (`a_acces_projet`).
    pub fn has(&self, who: &Person) -> bool {
        self.members.iter().any(|m| m.person.id == who.id)
    }
}

/// The role of a recipient in a project, for the message suffix (§2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The project's principal.
    Principal,
    /// The project's creator (and not principal).
    Creator,
    /// Another team member.
    Team,
}

/// The role of `who` on a project with `principal` and `creator` (§2).
pub fn role_of(who: &Person, principal: Option<&Person>, creator: &Person) -> Role {
    if principal.is_some_and(|p| p.id == who.id) {
        Role::Principal
    } else if who.id == creator.id {
        Role::Creator
    } else {
        Role::Team
    }
}

/// A recipient set keyed by user id (upstream collects a Python `set` of
/// users): `people`, deduplicated, in id order.
pub fn recipient_set<'a>(people: impl IntoIterator<Item = &'a Person>) -> BTreeMap<&'a str, &'a Person> {
    people.into_iter().map(|p| (p.id.as_str(), p)).collect()
}

/// The creator and the principal of a project, plus `others`, as one set
/// in id order, each with their role.
pub fn with_roles<'a>(
    creator: &'a Person,
    principal: Option<&'a Person>,
    others: impl IntoIterator<Item = &'a Person>,
) -> Vec<(&'a Person, Role)> {
    recipient_set(std::iter::once(creator).chain(principal).chain(others))
        .into_values()
        .map(|who| (who, role_of(who, principal, creator)))
        .collect()
}

/// The alerts of `draft` to a project's creator and principal (one each, or
/// one if they are the same person): the message is `base` followed by
/// `principal_suffix` for the principal and `creator_suffix` for the creator.
pub fn to_creator_and_principal(
    draft: &Draft,
    creator: &Person,
    principal: Option<&Person>,
    base: &str,
    (principal_suffix, creator_suffix): (&str, &str),
) -> Vec<Alert> {
    with_roles(creator, principal, [])
        .into_iter()
        .map(|(who, role)| {
            let suffix = if role == Role::Principal { principal_suffix } else { creator_suffix };
            draft.to(who, format!("{base}{suffix}"))
        })
        .collect()
}

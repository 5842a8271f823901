//! The public face of a provider: Statuspage v2 documents and the uptime document. Only
//! `public` incidents and maintenances ever reach these functions' output.

use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::AppError;
use cirhub_shared::statuspage as sp;
use cirhub_shared::time::{format, from_millis};
use cirhub_shared::{ComponentStatus, Impact, IncidentKind, IncidentStatus, Visibility};
use diesel::prelude::*;
use std::collections::HashMap;

/// How many incidents and maintenances the history documents carry (as Statuspage does).
pub const HISTORY_LIMIT: i64 = 50;

/// One public incident with its timeline and components.
pub struct PublicIncident {
    pub row: IncidentRow,
    pub updates: Vec<UpdateRow>,
    pub component_ids: Vec<String>,
}

/// Tag URIs (RFC 4151) naming a feed and its entries.
pub struct FeedIds {
    pub feed: String,
    /// Prefix of an entry's id; the incident id follows.
    pub entry_prefix: String,
}

impl FeedIds {
    /// A provider's public feed (ids kept as they always were, so readers do not see
    /// every entry again).
    pub fn public(slug: &str) -> FeedIds {
        FeedIds {
            feed: format!("tag:cirhub,2026:/status/{slug}/history"),
            entry_prefix: "tag:cirhub,2026:Incident/".into(),
        }
    }

    /// A customer's personal feed: one id per customer, whichever token reads it.
    pub fn personal(customer_id: &str) -> FeedIds {
        FeedIds {
            feed: format!("tag:cirhub,2026:/customers/{customer_id}/history"),
            entry_prefix: format!("tag:cirhub,2026:/customers/{customer_id}/Incident/"),
        }
    }
}

/// Everything the public documents of one provider are built from.
pub struct PublicData {
    pub org: OrgRow,
    pub base_url: String,
    /// Path of the page these documents describe (`/status/{slug}` for a provider).
    pub page_path: String,
    /// Path under which the feeds themselves are served (`/status/{slug}`, or
    /// `/feeds/{secret}` for a personal feed): their `rel="self"` links point there.
    pub feed_path: String,
    /// The Atom/RSS ids of the feed and of its entries, so that a personal feed never shares
    /// an id with a public one.
    pub feed_ids: FeedIds,
    pub components: Vec<ComponentRow>,
    pub groups: Vec<GroupRow>,
    pub services: HashMap<String, ServiceRow>,
    pub regions: HashMap<String, RegionRow>,
    /// Public incidents and maintenances, newest first: every open one plus the latest closed.
    pub incidents: Vec<PublicIncident>,
}

/// The policy check of the public channel: a record is shown only when it is public.
pub fn is_public(row: &IncidentRow) -> bool {
    row.visibility == Visibility::Public.as_str()
}

/// Loads a provider's public data by slug; 404 for unknown or non-provider organisations.
pub fn load(conn: &mut DbConn, slug: &str, base_url: &str) -> Result<PublicData, AppError> {
    let org: OrgRow = organisations::table
        .filter(organisations::slug.eq(slug))
        .filter(organisations::is_provider.eq(true))
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound("status page"))?;
    let mut components: Vec<ComponentRow> = components::table
        .filter(components::provider_id.eq(&org.id))
        .order((components::position.asc(), components::name.asc()))
        .select(ComponentRow::as_select())
        .load(conn)?;
    // What public records and direct changes say, never a non-public incident's change.
    crate::publishing::status_view::apply(
        conn,
        &mut components,
        crate::publishing::status_view::Reader::Public,
    )?;
    let groups: Vec<GroupRow> = component_groups::table
        .filter(component_groups::provider_id.eq(&org.id))
        .order((
            component_groups::position.asc(),
            component_groups::name.asc(),
        ))
        .select(GroupRow::as_select())
        .load(conn)?;
    let services = services::table
        .filter(services::provider_id.eq(&org.id))
        .select(ServiceRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let regions = regions::table
        .filter(regions::provider_id.eq(&org.id))
        .select(RegionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let closed = ["resolved", "postmortem", "completed"];
    let base = || {
        incidents::table
            .filter(incidents::provider_id.eq(&org.id))
            .filter(incidents::visibility.eq(Visibility::Public.as_str()))
    };
    let mut rows: Vec<IncidentRow> = base()
        .filter(incidents::status.ne_all(closed))
        .order(incidents::created_at.desc())
        .select(IncidentRow::as_select())
        .load(conn)?;
    for kind in [IncidentKind::Incident, IncidentKind::Maintenance] {
        rows.extend(
            base()
                .filter(incidents::status.eq_any(closed))
                .filter(incidents::kind.eq(kind.as_str()))
                .order(incidents::created_at.desc())
                .limit(HISTORY_LIMIT)
                .select(IncidentRow::as_select())
                .load(conn)?,
        );
    }
    rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut updates: HashMap<String, Vec<UpdateRow>> = HashMap::new();
    for u in incident_updates::table
        .filter(incident_updates::incident_id.eq_any(&ids))
        .order((
            incident_updates::created_at.desc(),
            incident_updates::id.desc(),
        ))
        .select(UpdateRow::as_select())
        .load(conn)?
    {
        updates.entry(u.incident_id.clone()).or_default().push(u);
    }
    let mut links: HashMap<String, Vec<String>> = HashMap::new();
    for (i, c) in incident_components::table
        .filter(incident_components::incident_id.eq_any(&ids))
        .select((
            incident_components::incident_id,
            incident_components::component_id,
        ))
        .load::<(String, String)>(conn)?
    {
        links.entry(i).or_default().push(c);
    }
    let incidents = rows
        .into_iter()
        .filter(is_public)
        .map(|row| PublicIncident {
            updates: updates.remove(&row.id).unwrap_or_default(),
            component_ids: links.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect();
    Ok(PublicData {
        page_path: format!("/status/{}", org.slug),
        feed_path: format!("/status/{}", org.slug),
        feed_ids: FeedIds::public(&org.slug),
        org,
        base_url: base_url.to_string(),
        components,
        groups,
        services,
        regions,
        incidents,
    })
}

fn opt(t: Option<i64>) -> Option<String> {
    t.map(|t| format(&from_millis(t)))
}

fn ts(t: i64) -> String {
    format(&from_millis(t))
}

impl PublicData {
    /// The status page's own URL.
    pub fn page_url(&self) -> String {
        format!("{}{}", self.base_url, self.page_path)
    }

    /// The URL of one of the feed documents (`history.atom`, `history.rss`).
    pub fn feed_url(&self, doc: &str) -> String {
        format!("{}{}/{doc}", self.base_url, self.feed_path)
    }

    fn updated_at(&self) -> i64 {
        let c = self.components.iter().map(|c| c.updated_at);
        let i = self.incidents.iter().map(|i| i.row.updated_at);
        c.chain(i).max().unwrap_or(self.org.updated_at)
    }

    pub fn page(&self) -> sp::Page {
        sp::Page {
            id: self.org.id.clone(),
            name: self.org.name.clone(),
            url: self.page_url(),
            time_zone: "Etc/UTC".into(),
            updated_at: ts(self.updated_at()),
        }
    }

    fn component(&self, c: &ComponentRow) -> sp::Component {
        sp::Component {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status.clone(),
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
            position: i64::from(c.position),
            description: Some(c.description.clone()).filter(|d| !d.is_empty()),
            showcase: true,
            start_date: Some(from_millis(c.created_at).format("%Y-%m-%d").to_string()),
            group_id: c.group_id.clone(),
            page_id: self.org.id.clone(),
            group: false,
            only_show_if_degraded: false,
            components: None,
        }
    }

    fn worst_status<'a>(rows: impl Iterator<Item = &'a ComponentRow>) -> ComponentStatus {
        rows.filter_map(|c| c.status.parse::<ComponentStatus>().ok())
            .max_by_key(|s| s.severity())
            .unwrap_or(ComponentStatus::Operational)
    }

    /// Components as Statuspage lists them: groups (with member ids) and members, by position.
    pub fn components(&self) -> Vec<sp::Component> {
        let mut out = Vec::with_capacity(self.components.len() + self.groups.len());
        for g in &self.groups {
            let members: Vec<&ComponentRow> = self
                .components
                .iter()
                .filter(|c| c.group_id.as_deref() == Some(&g.id))
                .collect();
            if members.is_empty() {
                continue;
            }
            out.push(sp::Component {
                id: g.id.clone(),
                name: g.name.clone(),
                status: Self::worst_status(members.iter().copied()).as_str().into(),
                created_at: ts(g.created_at),
                updated_at: ts(members
                    .iter()
                    .map(|c| c.updated_at)
                    .max()
                    .unwrap_or(g.updated_at)),
                position: i64::from(g.position),
                description: None,
                showcase: false,
                start_date: None,
                group_id: None,
                page_id: self.org.id.clone(),
                group: true,
                only_show_if_degraded: false,
                components: Some(members.iter().map(|c| c.id.clone()).collect()),
            });
        }
        out.extend(self.components.iter().map(|c| self.component(c)));
        out
    }

    fn incident(&self, i: &PublicIncident) -> sp::Incident {
        let names: HashMap<&str, &ComponentRow> =
            self.components.iter().map(|c| (c.id.as_str(), c)).collect();
        let updates = i
            .updates
            .iter()
            .map(|u| {
                let changes: Vec<cirhub_shared::api::ComponentChange> =
                    serde_json::from_str(&u.component_changes).unwrap_or_default();
                sp::IncidentUpdate {
                    id: u.id.clone(),
                    status: u.status.clone(),
                    body: u.body.clone(),
                    incident_id: i.row.id.clone(),
                    created_at: ts(u.created_at),
                    updated_at: ts(u.created_at),
                    display_at: ts(u.created_at),
                    affected_components: Some(changes).filter(|c| !c.is_empty()).map(|c| {
                        c.into_iter()
                            .map(|c| sp::AffectedComponent {
                                code: c.component_id,
                                name: c.name,
                                old_status: c.old_status.as_str().into(),
                                new_status: c.new_status.as_str().into(),
                            })
                            .collect()
                    }),
                    deliver_notifications: true,
                    custom_tweet: None,
                    tweet_id: None,
                }
            })
            .collect();
        let is_maintenance = i.row.kind == IncidentKind::Maintenance.as_str();
        sp::Incident {
            id: i.row.id.clone(),
            name: i.row.title.clone(),
            status: i.row.status.clone(),
            created_at: ts(i.row.created_at),
            updated_at: ts(i.row.updated_at),
            monitoring_at: opt(i.row.monitoring_at),
            resolved_at: opt(i.row.resolved_at),
            impact: if is_maintenance {
                "maintenance".into()
            } else {
                i.row.impact.clone()
            },
            shortlink: format!("{}#incident-{}", self.page_url(), i.row.id),
            started_at: ts(i
                .row
                .occurred_at
                .or(i.row.detected_at)
                .unwrap_or(i.row.created_at)),
            page_id: self.org.id.clone(),
            incident_updates: updates,
            components: i
                .component_ids
                .iter()
                .filter_map(|id| names.get(id.as_str()).map(|c| self.component(c)))
                .collect(),
            scheduled_for: if is_maintenance {
                opt(i.row.scheduled_for)
            } else {
                None
            },
            scheduled_until: if is_maintenance {
                opt(i.row.scheduled_until)
            } else {
                None
            },
        }
    }

    fn select(
        &self,
        kind: IncidentKind,
        keep: impl Fn(IncidentStatus) -> bool,
    ) -> Vec<sp::Incident> {
        self.incidents
            .iter()
            .filter(|i| i.row.kind == kind.as_str())
            .filter(|i| i.row.status.parse().map(&keep).unwrap_or(false))
            .map(|i| self.incident(i))
            .collect()
    }

    pub fn incidents(&self) -> Vec<sp::Incident> {
        self.select(IncidentKind::Incident, |_| true)
    }

    pub fn unresolved(&self) -> Vec<sp::Incident> {
        self.select(IncidentKind::Incident, |s| !s.is_closed())
    }

    pub fn maintenances(&self) -> Vec<sp::Incident> {
        self.select(IncidentKind::Maintenance, |_| true)
    }

    pub fn upcoming(&self) -> Vec<sp::Incident> {
        self.select(IncidentKind::Maintenance, |s| {
            s == IncidentStatus::Scheduled
        })
    }

    pub fn active_maintenance(&self) -> Vec<sp::Incident> {
        self.select(IncidentKind::Maintenance, |s| {
            matches!(s, IncidentStatus::InProgress | IncidentStatus::Verifying)
        })
    }

    /// Page roll-up: the worse of the worst component and the worst unresolved incident.
    pub fn status(&self) -> sp::Status {
        let component_level = match Self::worst_status(self.components.iter()) {
            ComponentStatus::MajorOutage => 3,
            ComponentStatus::PartialOutage => 2,
            ComponentStatus::DegradedPerformance => 1,
            _ => 0,
        };
        let incident_level = self
            .incidents
            .iter()
            .filter(|i| i.row.kind == IncidentKind::Incident.as_str())
            .filter(|i| {
                i.row
                    .status
                    .parse::<IncidentStatus>()
                    .map(|s| !s.is_closed())
                    .unwrap_or(false)
            })
            .map(|i| match i.row.impact.parse::<Impact>() {
                Ok(Impact::Critical) => 3,
                Ok(Impact::Major) => 2,
                Ok(Impact::Minor) => 1,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        let (indicator, description) = match component_level.max(incident_level) {
            3 => ("critical", "Major Service Outage"),
            2 => ("major", "Partial System Outage"),
            1 => ("minor", "Minor Service Outage"),
            _ if self
                .components
                .iter()
                .any(|c| c.status == ComponentStatus::UnderMaintenance.as_str()) =>
            {
                ("maintenance", "Service Under Maintenance")
            }
            _ => ("none", "All Systems Operational"),
        };
        sp::Status {
            indicator: indicator.into(),
            description: description.into(),
        }
    }

    pub fn summary(&self) -> sp::Summary {
        let mut maint = self.active_maintenance();
        maint.extend(self.upcoming());
        sp::Summary {
            page: self.page(),
            components: self.components(),
            incidents: self.unresolved(),
            scheduled_maintenances: maint,
            status: self.status(),
        }
    }
}

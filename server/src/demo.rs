//! `cirhub serve --demo`: a realistic world on an empty database — one provider with
//! services in three regions, two customers, users of every role, a resolved incident with a
//! full timeline, an active incident, a scheduled maintenance and weeks of status history.

use crate::auth::{password, Actor, Caller};
use crate::catalogue;
use crate::db::rows::{new_id, now_ms, StatusEventRow};
use crate::db::schema::{
    component_status_events, components, incident_updates, incidents, organisations,
};
use crate::error::AppError;
use crate::identity::accounts;
use crate::incidents as inc;
use crate::state::AppState;
use cirhub_shared::api::*;
use cirhub_shared::*;
use diesel::prelude::*;

mod escalation;
mod history;
mod sharing;

/// Demo accounts: (organisation slug, e-mail, name, role).
pub const ACCOUNTS: &[(&str, &str, &str, Role)] = &[
    ("nimbus", "admin@nimbus.example", "Noa Admin", Role::Admin),
    (
        "nimbus",
        "ops@nimbus.example",
        "Oskar Operator",
        Role::Operator,
    ),
    (
        "nimbus",
        "analyst@nimbus.example",
        "Ana Analyst",
        Role::Analyst,
    ),
    (
        "nimbus",
        "viewer@nimbus.example",
        "Vic Viewer",
        Role::Viewer,
    ),
    (
        "nimbus",
        "auditor@nimbus.example",
        "Aud Auditor",
        Role::Auditor,
    ),
    ("acme", "admin@acme.example", "Aiko Admin", Role::Admin),
    (
        "acme",
        "analyst@acme.example",
        "Kenji Analyst",
        Role::Analyst,
    ),
    ("globex", "admin@globex.example", "Greta Admin", Role::Admin),
    (
        "cloud-isac",
        "admin@cloud-isac.example",
        "Ines Coordinator",
        Role::Admin,
    ),
    (
        "globex",
        "viewer@globex.example",
        "Gus Viewer",
        Role::Viewer,
    ),
];

const DAY: i64 = 86_400_000;

/// Seeds the demo world unless organisations exist already.
pub fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    let count: i64 = organisations::table.count().get_result(&mut *db.conn()?)?;
    if count > 0 {
        tracing::info!("database not empty; demo seed skipped");
        return Ok(());
    }
    let (pw, generated) = match std::env::var("CIRHUB_DEMO_PASSWORD")
        .ok()
        .filter(|p| p.len() >= password::MIN_LEN)
    {
        Some(p) => (p, false),
        None => (crate::auth::random_secret()[..16].to_string(), true),
    };
    let hash = password::hash(&pw)?;
    state.exec.run_blocking(|c| seed(c, &hash))?;
    eprintln!(
        "demo world seeded. Accounts (password {}):",
        if generated {
            pw.as_str()
        } else {
            "from CIRHUB_DEMO_PASSWORD"
        }
    );
    for (org, email, _, role) in ACCOUNTS {
        eprintln!("  {email:<26} {role:<9} {org}");
    }
    eprintln!(
        "  public status page: {}/status/nimbus",
        state.config.public_url
    );
    Ok(())
}

fn seed(c: &mut crate::db::DbConn, hash: &str) -> Result<(), AppError> {
    let sys = Actor::System;
    let nimbus = accounts::create_org(c, &sys, "nimbus", "Nimbus Cloud", true, false)?;
    let acme = accounts::create_org(c, &sys, "acme", "Acme Payments", false, true)?;
    let globex = accounts::create_org(c, &sys, "globex", "Globex Retail", false, true)?;
    // An information-sharing community: neither provider nor customer.
    let isac = accounts::create_org(c, &sys, "cloud-isac", "Cloud ISAC", false, false)?;
    let mut ops = None;
    let mut people: Vec<(&str, Caller)> = Vec::new();
    for (slug, email, name, role) in ACCOUNTS {
        let org = [&nimbus, &acme, &globex, &isac]
            .into_iter()
            .find(|o| o.slug == *slug)
            .map(|o| o.id.clone())
            .unwrap_or_default();
        let input = CreateUser {
            email: email.to_string(),
            name: name.to_string(),
            role: *role,
            password: String::new(),
        };
        let user = accounts::create_user(c, &sys, &org, &input, hash.to_string())?;
        people.push((
            email,
            Caller {
                org_id: org.clone(),
                role: *role,
                actor: Actor::User {
                    id: user.id.clone(),
                    name: user.name.clone(),
                },
                session_id: None,
            },
        ));
        if *role == Role::Operator {
            ops = Some(Caller {
                org_id: org,
                role: *role,
                actor: Actor::User {
                    id: user.id,
                    name: user.name,
                },
                session_id: None,
            });
        }
    }
    let ops =
        ops.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no operator in demo accounts")))?;

    let regions: Vec<Region> = [
        ("ap-northeast-1", "Asia Pacific (Tokyo)"),
        ("us-east-1", "US East (N. Virginia)"),
        ("eu-west-1", "Europe (Ireland)"),
    ]
    .iter()
    .map(|(code, name)| {
        catalogue::create_region(
            c,
            &ops,
            &CreateRegion {
                code: code.to_string(),
                name: name.to_string(),
            },
        )
    })
    .collect::<Result<_, _>>()?;
    let services = [
        ("Compute", "Virtual machines and container hosts", true),
        ("Object Storage", "S3-compatible object storage", true),
        ("Managed Database", "Managed PostgreSQL and MySQL", true),
        ("Identity", "Sign-in, IAM and API keys", false),
        ("DNS", "Authoritative DNS", false),
    ];
    let mut comps: Vec<Component> = Vec::new();
    for (pos, (name, desc, regional)) in services.iter().enumerate() {
        let service = catalogue::create_service(
            c,
            &ops,
            &CreateService {
                name: name.to_string(),
                description: desc.to_string(),
            },
        )?;
        let group = catalogue::create_group(
            c,
            &ops,
            &CreateComponentGroup {
                name: name.to_string(),
                position: pos as i32,
            },
        )?;
        let placements: Vec<Option<&Region>> = if *regional {
            regions.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for (i, region) in placements.into_iter().enumerate() {
            let cname = match region {
                Some(r) => format!("{name} ({})", r.code),
                None => format!("{name} (global)"),
            };
            comps.push(catalogue::create_component(
                c,
                &ops,
                &CreateComponent {
                    name: cname,
                    description: desc.to_string(),
                    service_id: service.id.clone(),
                    region_id: region.map(|r| r.id.clone()),
                    group_id: Some(group.id.clone()),
                    status: None,
                    position: i as i32,
                },
            )?);
        }
    }
    let now = now_ms();
    backdate_history(c, &comps, now)?;
    let by_name = |n: &str| {
        comps
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.id.clone())
            .unwrap_or_default()
    };

    customers(c, &people, &comps)?;
    history::seed(c, &ops, &people, &comps, now)?;
    escalation::policies(c, &people)?;

    // A resolved incident ten days ago, with its whole timeline.
    let storage_tokyo = by_name("Object Storage (ap-northeast-1)");
    let resolved = inc::create(c, &ops, &CreateIncident {
        audience: Vec::new(),
        layer: cirhub_shared::Layer::Platform,
        title: "Elevated error rates for Object Storage in ap-northeast-1".into(),
        body: "We are investigating elevated 5xx error rates for PUT and GET requests in ap-northeast-1.".into(),
        impact: Impact::Major,
        urgency: Urgency::High,
        category: Category::HardwareFailure,
        visibility: Visibility::Public,
        status: None,
        components: vec![ComponentStatusChange { component_id: storage_tokyo.clone(), status: ComponentStatus::PartialOutage }],
        occurred_at: None,
        detected_at: None,
        exercise: false,
        intake: None,
    })?;
    for (status, body, comp) in [
        (IncidentStatus::Identified, "A failed storage controller in one availability zone is causing retries; traffic is being drained from it.", None),
        (IncidentStatus::Monitoring, "Traffic has been moved to healthy controllers. Error rates are back to normal; we are monitoring.", Some(ComponentStatus::Operational)),
        (IncidentStatus::Resolved, "The controller has been replaced and the zone is back in service. This incident is resolved.", None),
    ] {
        inc::post_update(c, &ops, &resolved.id, &PostUpdate {
            status,
            body: body.into(),
            components: comp.map(|s| vec![ComponentStatusChange { component_id: storage_tokyo.clone(), status: s }]).unwrap_or_default(),
            impact: None,
            urgency: None,
        })?;
    }
    shift_incident(c, &resolved.id, now - 10 * DAY)?;
    inc::patch(
        c,
        &ops,
        &resolved.id,
        &PatchIncident {
            occurred_at: Some(cirhub_shared::time::from_millis(
                now - 10 * DAY - 20 * 60_000,
            )),
            acknowledged_at: Some(cirhub_shared::time::from_millis(
                now - 10 * DAY + 4 * 60_000,
            )),
            contained_at: Some(cirhub_shared::time::from_millis(
                now - 10 * DAY + 45 * 60_000,
            )),
            recovered_at: Some(cirhub_shared::time::from_millis(
                now - 10 * DAY + 90 * 60_000,
            )),
            reason: Some(
                "Times taken from the storage controller's logs in the post-incident review."
                    .into(),
            ),
            ..Default::default()
        },
    )?;

    // An active incident.
    inc::create(c, &ops, &CreateIncident {
        audience: Vec::new(),
        layer: cirhub_shared::Layer::Platform,
        title: "Increased API latency for Compute in us-east-1".into(),
        body: "Instance launch and API calls in us-east-1 are slower than usual. Running instances are not affected.".into(),
        impact: Impact::Minor,
        urgency: Urgency::Medium,
        category: Category::SoftwareBug,
        visibility: Visibility::Public,
        status: Some(IncidentStatus::Identified),
        components: vec![ComponentStatusChange { component_id: by_name("Compute (us-east-1)"), status: ComponentStatus::DegradedPerformance }],
        occurred_at: None,
        detected_at: None,
        exercise: false,
        intake: None,
    })?;

    // An internal-only investigation that never appears on the public page; its indicators
    // are shared with Acme and the Cloud ISAC community.
    let investigation = inc::create(
        c,
        &ops,
        &CreateIncident {
            audience: Vec::new(),
            layer: cirhub_shared::Layer::Platform,
            title: "Suspicious API key usage from unknown ASN".into(),
            body: "Security is reviewing anomalous Identity API calls. Internal only.".into(),
            impact: Impact::Minor,
            urgency: Urgency::High,
            category: Category::HackingDos,
            visibility: Visibility::Internal,
            status: None,
            components: vec![],
            occurred_at: None,
            detected_at: None,
            exercise: false,
            intake: None,
        },
    )?;
    let admin = |email: &str| {
        people
            .iter()
            .find(|(e, _)| *e == email)
            .map(|(_, who)| who.clone())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no demo account {email}")))
    };
    sharing::seed(
        c,
        &admin("admin@nimbus.example")?,
        &admin("admin@acme.example")?,
        &admin("admin@globex.example")?,
        &admin("admin@cloud-isac.example")?,
        &investigation.id,
    )?;
    escalation::clocks(c, &people, &investigation.id, now)?;

    // A targeted incident: only the customers whose contracted services x regions it
    // touches see it (Acme runs on Compute in Tokyo).
    inc::create(c, &ops, &CreateIncident {
        audience: Vec::new(),
        layer: cirhub_shared::Layer::Platform,
        title: "Packet loss on hosts in one Tokyo availability zone".into(),
        body: "Some instances in ap-northeast-1 see intermittent packet loss. We are moving affected hosts out of service.".into(),
        impact: Impact::Major,
        urgency: Urgency::Medium,
        category: Category::HardwareFailure,
        visibility: Visibility::Affected,
        status: None,
        components: vec![ComponentStatusChange { component_id: by_name("Compute (ap-northeast-1)"), status: ComponentStatus::PartialOutage }],
        occurred_at: None,
        detected_at: None,
        exercise: false,
        intake: None,
    })?;

    // Maintenance in three days.
    let start = now - now.rem_euclid(3_600_000) + 3 * DAY;
    inc::create_maintenance(c, &ops, &CreateMaintenance {
        audience: Vec::new(),
        title: "Managed Database maintenance in eu-west-1".into(),
        body: "Minor version upgrades of managed PostgreSQL. Expect failovers of up to 30 seconds per cluster.".into(),
        visibility: Visibility::Public,
        scheduled_for: cirhub_shared::time::from_millis(start),
        scheduled_until: cirhub_shared::time::from_millis(start + 4 * 3_600_000),
        component_ids: vec![by_name("Managed Database (eu-west-1)")],
    })?;
    Ok(())
}

/// The two customers' relationships with Nimbus, their own names for what they run there,
/// and an analyst's alert subscription.
fn customers(
    c: &mut crate::db::DbConn,
    people: &[(&str, Caller)],
    comps: &[Component],
) -> Result<(), AppError> {
    use crate::customers::relationships;
    use crate::customers::subscriptions;
    use cirhub_shared::customer::*;
    let who = |email: &str| {
        people
            .iter()
            .find(|(e, _)| *e == email)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no demo account {email}")))
    };
    let comp = |name: &str| {
        comps
            .iter()
            .find(|x| x.name == name)
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no demo component {name}")))
    };
    let scope = |name: &str| -> Result<Scope, AppError> {
        let x = comp(name)?;
        Ok(Scope {
            service_id: x.service_id,
            region_id: x.region_id,
        })
    };
    let provider = who("admin@nimbus.example")?;
    for (customer, model, scopes, names) in [
        (
            "acme",
            ServiceModel::Iaas,
            vec![
                "Compute (ap-northeast-1)",
                "Compute (us-east-1)",
                "Object Storage (ap-northeast-1)",
            ],
            vec![
                ("payments-prod", "Compute (ap-northeast-1)"),
                ("payments-dr", "Compute (us-east-1)"),
                ("receipts-archive", "Object Storage (ap-northeast-1)"),
            ],
        ),
        (
            "globex",
            ServiceModel::Saas,
            vec![
                "Managed Database (eu-west-1)",
                "Identity (global)",
                "DNS (global)",
            ],
            vec![
                ("shop-db", "Managed Database (eu-west-1)"),
                ("sso", "Identity (global)"),
            ],
        ),
    ] {
        let rel = relationships::invite(
            c,
            &provider,
            &InviteCustomer {
                customer: customer.into(),
                service_model: model,
                scopes: scopes.iter().map(|n| scope(n)).collect::<Result<_, _>>()?,
            },
        )?;
        let admin = who(&format!("admin@{customer}.example"))?;
        relationships::accept(c, &admin, &rel.id)?;
        for (name, component) in names {
            crate::customers::mappings::create_mapping(
                c,
                &admin,
                &CreateMapping {
                    name: name.into(),
                    component_id: comp(component)?.id,
                },
            )?;
        }
    }
    subscriptions::create(
        c,
        &who("analyst@acme.example")?,
        &SubscriptionInput {
            name: "Everything P3 and above".into(),
            role: None,
            provider_ids: Vec::new(),
            service_ids: Vec::new(),
            region_ids: Vec::new(),
            min_priority: Priority::P3,
            channels: vec![Channel::Email, Channel::WebSocket],
            mode: DeliveryMode::Immediate,
        },
    )?;
    Ok(())
}

/// Creates eight weeks of history: every component operational since then, with a few
/// short degradations and outages on past days.
fn backdate_history(
    c: &mut crate::db::DbConn,
    comps: &[Component],
    now: i64,
) -> Result<(), AppError> {
    let start = now - 56 * DAY;
    for comp in comps {
        diesel::update(components::table.find(&comp.id))
            .set(components::created_at.eq(start))
            .execute(c)?;
        diesel::update(
            component_status_events::table
                .filter(component_status_events::component_id.eq(&comp.id)),
        )
        .set(component_status_events::at.eq(start))
        .execute(c)?;
    }
    let blips: &[(usize, i64, i64, ComponentStatus)] = &[
        (0, 40, 90, ComponentStatus::DegradedPerformance),
        (3, 33, 45, ComponentStatus::PartialOutage),
        (4, 21, 200, ComponentStatus::DegradedPerformance),
        (7, 15, 30, ComponentStatus::MajorOutage),
        (9, 5, 60, ComponentStatus::PartialOutage),
    ];
    for (idx, days_ago, minutes, status) in blips {
        let Some(comp) = comps.get(*idx) else {
            continue;
        };
        let at = now - days_ago * DAY;
        for (t, s) in [
            (at, status.as_str()),
            (at + minutes * 60_000, ComponentStatus::Operational.as_str()),
        ] {
            diesel::insert_into(component_status_events::table)
                .values(&StatusEventRow {
                    id: new_id(),
                    component_id: comp.id.clone(),
                    status: s.into(),
                    at: t,
                    incident_id: None,
                })
                .execute(c)?;
        }
    }
    Ok(())
}

/// Moves an incident's timestamps so that it starts at `start` (updates 25 minutes apart).
fn shift_incident(c: &mut crate::db::DbConn, id: &str, start: i64) -> Result<(), AppError> {
    let ups: Vec<(String, i64)> = incident_updates::table
        .filter(incident_updates::incident_id.eq(id))
        .order(incident_updates::created_at.asc())
        .select((incident_updates::id, incident_updates::created_at))
        .load(c)?;
    let mut last = start;
    for (i, (uid, _)) in ups.iter().enumerate() {
        last = start + i as i64 * 25 * 60_000;
        diesel::update(incident_updates::table.find(uid))
            .set(incident_updates::created_at.eq(last))
            .execute(c)?;
    }
    // Its component status changes happened at the same times.
    let events: Vec<String> = component_status_events::table
        .filter(component_status_events::incident_id.eq(id))
        .order(component_status_events::at.asc())
        .select(component_status_events::id)
        .load(c)?;
    for (i, eid) in events.iter().enumerate() {
        let at = start + (i as i64) * 50 * 60_000;
        diesel::update(component_status_events::table.find(eid))
            .set(component_status_events::at.eq(at))
            .execute(c)?;
    }
    diesel::update(incidents::table.find(id))
        .set((
            incidents::created_at.eq(start),
            incidents::detected_at.eq(start),
            incidents::updated_at.eq(last),
            incidents::monitoring_at.eq(start + 50 * 60_000),
            incidents::resolved_at.eq(last),
        ))
        .execute(c)?;
    Ok(())
}

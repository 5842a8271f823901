//! The benchmark's world, written straight into a fresh SQLite database through the server's
//! own services: one provider (2 services x 2 regions), an open incident on Compute in Tokyo,
//! and customer organisations with varied relationships and role-wide WebSocket subscriptions.

use cirhub::auth::{Actor, Caller};
use cirhub::catalogue;
use cirhub::config::Config;
use cirhub::customers::relationships;
use cirhub::customers::subscriptions;
use cirhub::db::Db;
use cirhub::identity::accounts;
use cirhub::incidents;
use cirhub_shared::api::*;
use cirhub_shared::customer::{InviteCustomer, Scope, SubscriptionInput};
use cirhub_shared::*;
use std::path::Path;

pub const JWT_SECRET: &str = "benchmark-secret-benchmark-secret-0123456789";

pub struct World {
    /// A viewer API token per customer organisation.
    pub tokens: Vec<String>,
    /// An auditor API token per customer organisation, to count its disclosures.
    pub auditor_tokens: Vec<String>,
    /// Whether each organisation's viewers should receive the published update.
    pub receives: Vec<bool>,
    pub incident_id: String,
    pub provider_token: String,
}

fn system(org: &str) -> Caller {
    Caller {
        org_id: org.into(),
        role: Role::Admin,
        actor: Actor::System,
        session_id: None,
    }
}

pub fn seed(db_path: &Path, orgs: usize) -> anyhow::Result<World> {
    let url = db_path.to_string_lossy().into_owned();
    let config = Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.clone()),
        _ => None,
    })?;
    let db = Db::connect(&config)?;
    db.migrate()?;
    let world = db.write_blocking(|c| {
        let sys = Actor::System;
        let provider = accounts::create_org(c, &sys, "nimbus", "Nimbus Cloud", true, false)?;
        let p = system(&provider.id);
        let region = |c: &mut _, code: &str| {
            catalogue::create_region(
                c,
                &p,
                &CreateRegion {
                    code: code.into(),
                    name: code.into(),
                },
            )
        };
        let tokyo = region(c, "ap-northeast-1")?;
        let osaka = region(c, "ap-northeast-3")?;
        let service = |c: &mut _, name: &str| {
            catalogue::create_service(
                c,
                &p,
                &CreateService {
                    name: name.into(),
                    description: String::new(),
                },
            )
        };
        let compute = service(c, "Compute")?;
        let storage = service(c, "Storage")?;
        let mut comps = Vec::new();
        for (s, r) in [
            (&compute, &tokyo),
            (&compute, &osaka),
            (&storage, &tokyo),
            (&storage, &osaka),
        ] {
            comps.push(catalogue::create_component(
                c,
                &p,
                &CreateComponent {
                    name: format!("{} {}", s.name, r.code),
                    description: String::new(),
                    service_id: s.id.clone(),
                    region_id: Some(r.id.clone()),
                    group_id: None,
                    status: None,
                    position: 0,
                },
            )?);
        }
        let provider_token = cirhub::identity::api_tokens::create_token(
            c,
            &p,
            &CreateApiToken {
                name: "publisher".into(),
                role: Role::Operator,
            },
        )?
        .secret;
        let incident = incidents::create(
            c,
            &p,
            &CreateIncident {
                title: "Packet loss for Compute in ap-northeast-1".into(),
                body: "Investigating packet loss on some hosts.".into(),
                impact: Impact::Major,
                urgency: Urgency::High,
                category: Category::HardwareFailure,
                visibility: Visibility::Affected,
                audience: Vec::new(),
                layer: Layer::Platform,
                status: None,
                components: vec![ComponentStatusChange {
                    component_id: comps[0].id.clone(),
                    status: ComponentStatus::PartialOutage,
                }],
                occurred_at: None,
                detected_at: None,
                exercise: false,
                intake: None,
            },
        )?;
        let mut tokens = Vec::new();
        let mut auditor_tokens = Vec::new();
        let mut receives = Vec::new();
        for i in 0..orgs {
            let org = accounts::create_org(
                c,
                &sys,
                &format!("cust{i}"),
                &format!("Customer {i}"),
                false,
                true,
            )?;
            let me = system(&org.id);
            let mut scopes = vec![Scope {
                service_id: compute.id.clone(),
                region_id: Some(tokyo.id.clone()),
            }];
            if i % 3 == 0 {
                scopes.push(Scope {
                    service_id: storage.id.clone(),
                    region_id: None,
                });
            }
            let model = [ServiceModel::Iaas, ServiceModel::Paas, ServiceModel::Saas][i % 3];
            let rel = relationships::invite(
                c,
                &p,
                &InviteCustomer {
                    customer: org.slug.clone(),
                    service_model: model,
                    scopes,
                },
            )?;
            relationships::accept(c, &me, &rel.id)?;
            tokens.push(
                cirhub::identity::api_tokens::create_token(
                    c,
                    &me,
                    &CreateApiToken {
                        name: "bench".into(),
                        role: Role::Viewer,
                    },
                )?
                .secret,
            );
            auditor_tokens.push(
                cirhub::identity::api_tokens::create_token(
                    c,
                    &me,
                    &CreateApiToken {
                        name: "bench-audit".into(),
                        role: Role::Auditor,
                    },
                )?
                .secret,
            );
            // Varied subscriptions of the viewer role: the update is P2 on Compute in Tokyo.
            let (min_priority, services, regions, gets) = match i % 10 {
                0 => (Priority::P1, vec![], vec![], false),
                1..=3 => (Priority::P5, vec![], vec![], true),
                4..=6 => (Priority::P3, vec![compute.id.clone()], vec![], true),
                7 | 8 => (Priority::P5, vec![], vec![tokyo.id.clone()], true),
                _ => (Priority::P5, vec![], vec![osaka.id.clone()], false),
            };
            if i % 10 < 1 || i % 10 > 3 {
                subscriptions::create(
                    c,
                    &me,
                    &SubscriptionInput {
                        name: "bench".into(),
                        role: Some(Role::Viewer),
                        provider_ids: vec![],
                        service_ids: services,
                        region_ids: regions,
                        min_priority,
                        channels: vec![Channel::WebSocket],
                        mode: DeliveryMode::Immediate,
                    },
                )?;
            }
            receives.push(gets);
        }
        Ok(World {
            tokens,
            auditor_tokens,
            receives,
            incident_id: incident.id,
            provider_token,
        })
    })?;
    Ok(world)
}

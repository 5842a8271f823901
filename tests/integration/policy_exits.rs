//! Every exit of shared data against the one policy decision point, over random worlds: a
//! few organisations, agreements between them (bilateral or community, random categories,
//! TLP ceilings and onward rules; then left in force, suspended, terminated or run to their
//! end) and objects (random owner, type, TLP, agreements shared under, the persons a
//! TLP:RED one names). For each
//! organisation, what each exit lets reach it — the REST list and its total, one object, its
//! versions and sightings, TAXII collections, objects, manifest and versions, exports,
//! lookups, and the stream's notices — is exactly what `policy::decide` allows: nothing it
//! refuses, everything it allows. Recipients try to pass objects on under their own
//! agreements; each answer (200, or 404/409/422) is what the decision point says, and what
//! was passed on is then part of what every exit must show. The stream is checked twice: what was announced when the
//! objects were shared, and what was withdrawn when the agreements stopped covering them.
//!
//! Each case runs a real server, so the number of cases is small (`POLICY_EXIT_CASES`,
//! default 5); a failing case is printed whole (no shrinking across servers).

use crate::harness::{Session, StreamClient, TestApp};
use cirhub::sharing::policy::{self, Object, Recipient, Terms};
use cirhub_shared::sharing::{AgreementState, DataCategory, OnwardSharing, PartyRole, Tlp};
use cirhub_shared::Role;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const ORGS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    InForce,
    Suspended,
    Terminated,
    /// In force with an `effective_until` a few seconds ahead, which the test waits out.
    Expires,
}

#[derive(Debug, Clone)]
struct AgreementSpec {
    community: bool,
    /// (organisation index, role); the first proposes.
    parties: Vec<(usize, PartyRole)>,
    categories: Vec<DataCategory>,
    ceiling: Tlp,
    onward: OnwardSharing,
    fate: Fate,
}

#[derive(Debug, Clone)]
struct ObjectSpec {
    owner: usize,
    stix_type: &'static str,
    tlp: Tlp,
    /// Agreement indices; those the owner is not a party to are dropped.
    share: Vec<usize>,
    /// Organisations whose admin a TLP:RED object names as a recipient.
    named: Vec<usize>,
}

#[derive(Debug, Clone)]
struct World {
    agreements: Vec<AgreementSpec>,
    objects: Vec<ObjectSpec>,
    /// (object, i, j): the i-th recipient of the object tries to pass it on under the j-th
    /// other agreement it is party to (indices taken modulo what exists).
    passes: Vec<(usize, usize, usize)>,
}

fn agreement() -> impl Strategy<Value = AgreementSpec> {
    let bilateral = (
        prop::sample::subsequence((0..ORGS).collect::<Vec<_>>(), 2),
        any::<bool>(),
    )
        .prop_map(|(orgs, peers)| {
            let roles = if peers {
                [PartyRole::Member, PartyRole::Member]
            } else {
                [PartyRole::Provider, PartyRole::Customer]
            };
            (false, vec![(orgs[0], roles[0]), (orgs[1], roles[1])])
        });
    let community = prop::sample::subsequence((0..ORGS).collect::<Vec<_>>(), 2..=ORGS)
        .prop_shuffle()
        .prop_map(|orgs| {
            let parties = orgs
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let role = if i == 0 {
                        PartyRole::Coordinator
                    } else {
                        PartyRole::Member
                    };
                    (*o, role)
                })
                .collect();
            (true, parties)
        });
    (
        prop_oneof![bilateral, community],
        prop::sample::subsequence(
            vec![
                DataCategory::Indicators,
                DataCategory::ThreatContext,
                DataCategory::Vulnerabilities,
            ],
            1..=3,
        ),
        prop::sample::select(Tlp::ALL.to_vec()),
        prop::sample::select(OnwardSharing::ALL.to_vec()),
        prop::sample::select(vec![
            Fate::InForce,
            Fate::InForce,
            Fate::Suspended,
            Fate::Terminated,
            Fate::Expires,
        ]),
    )
        .prop_map(
            |((community, parties), categories, ceiling, onward, fate)| AgreementSpec {
                community,
                parties,
                categories,
                ceiling,
                onward,
                fate,
            },
        )
}

fn object() -> impl Strategy<Value = ObjectSpec> {
    (
        0..ORGS,
        prop::sample::select(vec!["indicator", "indicator", "malware", "vulnerability"]),
        prop::sample::select(Tlp::ALL.to_vec()),
        prop::collection::vec(0usize..4, 0..=3),
        prop::sample::subsequence((0..ORGS).collect::<Vec<_>>(), 0..=ORGS),
    )
        .prop_map(|(owner, stix_type, tlp, share, named)| ObjectSpec {
            owner,
            stix_type,
            tlp,
            share,
            named: if tlp == Tlp::Red { named } else { Vec::new() },
        })
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::vec(agreement(), 1..=4),
        prop::collection::vec(object(), 2..=8),
        prop::collection::vec((0usize..8, 0usize..4, 0usize..4), 0..=6),
    )
        .prop_map(|(agreements, objects, passes)| World {
            agreements,
            objects,
            passes,
        })
}

/// One organisation of a running world: its admin's session, an API token (TAXII) and its
/// stream.
struct Org {
    s: Session,
    token: String,
    stream: StreamClient,
}

/// A stored object of the world.
struct Stored {
    key: String,
    stix_id: String,
    /// The address its pattern names (indicators only): what a lookup asks.
    value: Option<String>,
    owner: usize,
    tlp: Tlp,
    category: DataCategory,
    under: Vec<usize>,
    /// The e-mail addresses a TLP:RED object names.
    named: Vec<String>,
    /// (agreement, organisation that passed it on under it).
    onward: Vec<(usize, usize)>,
}

fn stix_body(spec: &ObjectSpec, n: usize) -> (Value, Option<String>) {
    let id = format!("{}--{}", spec.stix_type, uuid::Uuid::new_v4());
    let mut o = json!({"type": spec.stix_type, "spec_version": "2.1", "id": id,
        "created": "2026-12-01T10:00:00.000Z", "modified": "2026-12-01T10:00:00.000Z",
        "object_marking_refs": [spec.tlp.marking_definition_id()]});
    let mut value = None;
    match spec.stix_type {
        "indicator" => {
            let ip = format!("198.51.100.{}", n + 1);
            o["pattern"] = json!(format!("[ipv4-addr:value = '{ip}']"));
            o["pattern_type"] = json!("stix");
            o["valid_from"] = json!("2026-12-01T10:00:00Z");
            value = Some(ip);
        }
        "malware" => {
            o["name"] = json!(format!("Loader {n}"));
            o["is_family"] = json!(true);
        }
        _ => o["name"] = json!(format!("CVE-2026-{:04}", n + 1)),
    }
    (o, value)
}

/// The terms each agreement has at the end of the case (`end`: after its fate), as the
/// decision point reads them.
fn terms_of(
    world: &World,
    ids: &[String],
    orgs: &[String],
    until: i64,
    end: bool,
) -> BTreeMap<usize, Terms> {
    world
        .agreements
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let state = match (end, a.fate) {
                (true, Fate::Suspended) => AgreementState::Suspended,
                (true, Fate::Terminated) => AgreementState::Terminated,
                _ => AgreementState::Active,
            };
            let t = Terms {
                agreement_id: ids[i].clone(),
                version: 1,
                state,
                effective_from: 0,
                effective_until: (a.fate == Fate::Expires).then_some(until),
                parties: a
                    .parties
                    .iter()
                    .map(|(o, r)| (orgs[*o].clone(), *r))
                    .collect(),
                categories: a.categories.clone(),
                tlp_ceiling: a.ceiling,
                onward: a.onward,
            };
            (i, t)
        })
        .collect()
}

/// The decision for object `o` reaching organisation `r` (through `person`, or
/// organisation-wide): shared by its owner, or else passed on (owner -> via -> r) under an
/// agreement of the one who passed it on, with the owner's agreements that one is party to.
fn decision(
    o: &Stored,
    terms: &BTreeMap<usize, Terms>,
    orgs: &[String],
    r: usize,
    person: Option<&str>,
    now: i64,
) -> policy::Decision {
    let object = Object {
        owner: &orgs[o.owner],
        tlp: o.tlp,
        category: o.category,
        named_recipients: &o.named,
    };
    let recipient = Recipient {
        org: &orgs[r],
        person,
    };
    let direct: Vec<Terms> = o.under.iter().map(|a| terms[a].clone()).collect();
    let first = policy::decide(object, &[], recipient, &direct, now);
    if first.allowed {
        return first;
    }
    for (x, via) in &o.onward {
        let mut path: Vec<Terms> = direct
            .iter()
            .filter(|t| t.role_of(&orgs[*via]).is_some())
            .cloned()
            .collect();
        path.push(terms[x].clone());
        let d = policy::decide(object, &[orgs[*via].as_str()], recipient, &path, now);
        if d.allowed {
            return d;
        }
    }
    first
}

/// The objects the decision point lets reach organisation `r` through a channel of `person`
/// (None: organisation-wide), at `now`.
fn allowed(
    stored: &[Stored],
    terms: &BTreeMap<usize, Terms>,
    orgs: &[String],
    r: usize,
    person: Option<&str>,
    now: i64,
) -> BTreeSet<String> {
    stored
        .iter()
        .filter(|o| decision(o, terms, orgs, r, person, now).allowed)
        .map(|o| o.key.clone())
        .collect()
}

/// What passing object `o` on by organisation `via` under agreement `x` must answer.
fn pass_on_status(
    o: &Stored,
    terms: &BTreeMap<usize, Terms>,
    orgs: &[String],
    emails: &[String],
    via: usize,
    x: usize,
    now: i64,
) -> StatusCode {
    if via == o.owner {
        return StatusCode::CONFLICT;
    }
    let d = decision(o, terms, orgs, via, Some(&emails[via]), now);
    if !d.allowed {
        return StatusCode::NOT_FOUND;
    }
    if d.passed_on_by.is_some() {
        return StatusCode::CONFLICT;
    }
    let t = &terms[&x];
    if t.role_of(&orgs[via]).is_none() {
        return StatusCode::UNPROCESSABLE_ENTITY;
    }
    // The server asks, for each other party of `x`, the decision along this path alone.
    let direct: Vec<&Terms> = o.under.iter().map(|a| &terms[a]).collect();
    let mut path: Vec<Terms> = direct
        .into_iter()
        .filter(|u| u.role_of(&orgs[via]).is_some())
        .cloned()
        .collect();
    path.push(t.clone());
    let reaches = (0..orgs.len())
        .filter(|p| *p != via && *p != o.owner && t.role_of(&orgs[*p]).is_some())
        .any(|p| {
            policy::decide(
                Object {
                    owner: &orgs[o.owner],
                    tlp: o.tlp,
                    category: o.category,
                    named_recipients: &o.named,
                },
                &[orgs[via].as_str()],
                Recipient {
                    org: &orgs[p],
                    person: None,
                },
                &path,
                now,
            )
            .allowed
        });
    if reaches {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

async fn taxii(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .get(app.url(path))
        .header("accept", "application/taxii+json;version=2.1")
        .bearer_auth(token)
        .send()
        .await
        .expect("TAXII request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The keys each organisation's stream announced with `kind`, until all are quiet.
async fn notices(orgs: &mut [Org], kind: &str, quiet_ms: u64) -> Vec<BTreeSet<String>> {
    let quiet = Duration::from_millis(quiet_ms);
    let heard =
        futures_util::future::join_all(orgs.iter_mut().map(|o| o.stream.events_until_quiet(quiet)))
            .await;
    heard
        .into_iter()
        .map(|events| {
            events
                .iter()
                .filter(|ev| ev["kind"] == kind)
                .map(|ev| ev["indicator"]["key"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .collect()
}

/// Runs one world and checks every exit; returns a description of the first difference.
async fn check(world: &World) -> Result<(), String> {
    let app = TestApp::spawn().await;
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let slug = format!("org{i}");
        let org = app.org(&slug, true, true);
        let email = format!("admin@{slug}.test");
        app.user(&org, &email, Role::Admin);
        let s = app.login(&email).await;
        let t: Value = app
            .create(
                "/api/v1/api-tokens",
                &s,
                json!({"name": "taxii", "role": "viewer"}),
            )
            .await;
        let token = t["secret"].as_str().expect("token").to_string();
        let mut stream = app.stream(&s.token, None).await;
        stream.live().await;
        orgs.push(Org { s, token, stream });
    }
    let org_ids: Vec<String> = orgs.iter().map(|o| o.s.org_id.clone()).collect();
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let mut ids = Vec::new();
    for a in &world.agreements {
        let parties: Vec<Value> = a
            .parties
            .iter()
            .map(|(o, r)| json!({"organisation": orgs[*o].s.slug, "role": r}))
            .collect();
        let body = json!({"kind": if a.community { "community" } else { "bilateral" },
            "title": "Exchange", "tlp_ceiling": a.ceiling, "parties": parties,
            "categories": a.categories, "onward": a.onward, "attribution": "named",
            "retention_days": 30,
            "effective_until": (a.fate == Fate::Expires).then_some(until)});
        let proposer = &orgs[a.parties[0].0].s;
        let created: Value = app.create("/api/v1/agreements", proposer, body).await;
        let id = created["id"].as_str().expect("agreement id").to_string();
        for (o, _) in &a.parties[1..] {
            let (s, b) = app
                .post(
                    &format!("/api/v1/agreements/{id}/accept"),
                    &orgs[*o].s,
                    json!({"version": 1}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "accept: {b}");
        }
        ids.push(id);
    }
    let mut stored = Vec::new();
    for (n, spec) in world.objects.iter().enumerate() {
        let under: BTreeSet<usize> = spec
            .share
            .iter()
            .copied()
            .filter(|a| {
                world
                    .agreements
                    .get(*a)
                    .is_some_and(|ag| ag.parties.iter().any(|(o, _)| *o == spec.owner))
            })
            .collect();
        let (body, value) = stix_body(spec, n);
        let share: Vec<&String> = under.iter().map(|a| &ids[*a]).collect();
        let named: Vec<String> = spec
            .named
            .iter()
            .map(|o| orgs[*o].s.email.clone())
            .collect();
        let created: Value = app
            .create(
                "/api/v1/stix-objects",
                &orgs[spec.owner].s,
                json!({"object": body, "share_under": share, "named_recipients": named}),
            )
            .await;
        stored.push(Stored {
            key: created["key"].as_str().expect("key").to_string(),
            stix_id: body["id"].as_str().unwrap().to_string(),
            value,
            owner: spec.owner,
            tlp: spec.tlp,
            category: DataCategory::of_stix_type(spec.stix_type).unwrap(),
            under: under.into_iter().collect(),
            named,
            onward: Vec::new(),
        });
    }
    // Recipients pass objects on: each answer is what the decision point says it must be.
    let emails: Vec<String> = orgs.iter().map(|o| o.s.email.clone()).collect();
    let before = terms_of(world, &ids, &org_ids, until.timestamp_millis(), false);
    for &(n, i, j) in &world.passes {
        // A plausible attempt: a party of an agreement the object is shared under, under
        // another agreement of its own.
        let Some(o) = stored.get(n) else { continue };
        let vias: Vec<usize> = (0..ORGS)
            .filter(|v| {
                *v != o.owner
                    && o.under
                        .iter()
                        .any(|a| world.agreements[*a].parties.iter().any(|(p, _)| p == v))
            })
            .collect();
        let Some(&via) = vias.get(i % vias.len().max(1)) else {
            continue;
        };
        let xs: Vec<usize> = (0..ids.len())
            .filter(|x| {
                !o.under.contains(x) && world.agreements[*x].parties.iter().any(|(p, _)| *p == via)
            })
            .collect();
        let Some(&x) = xs.get(j % xs.len().max(1)) else {
            continue;
        };
        let now = chrono::Utc::now().timestamp_millis();
        let want = pass_on_status(&stored[n], &before, &org_ids, &emails, via, x, now);
        let (status, body) = app
            .post(
                &format!("/api/v1/stix-objects/{}/onward", stored[n].key),
                &orgs[via].s,
                json!({"agreement_id": ids[x]}),
            )
            .await;
        if status != want {
            return Err(format!(
                "org{via} passing object {n} on under agreement {x}: {status}, want {want}: {body}"
            ));
        }
        let o = &mut stored[n];
        // A share under `x` already there (the owner's, or another's passing on) stays.
        if status == StatusCode::OK
            && !o.under.contains(&x)
            && !o.onward.iter().any(|(a, _)| *a == x)
        {
            o.onward.push((x, via));
        }
    }
    let now = chrono::Utc::now().timestamp_millis();
    // What the stream announced: organisation-wide, at the time of sharing.
    let mut announced: Vec<BTreeSet<String>> = Vec::new();
    let heard = notices(&mut orgs, "indicator.shared", 400).await;
    for (r, got) in heard.into_iter().enumerate() {
        let mut want = allowed(&stored, &before, &org_ids, r, None, now);
        want.retain(|k| stored.iter().any(|o| o.key == *k && o.owner != r));
        if got != want {
            return Err(format!(
                "stream announced to org{r}: {got:?}, allowed {want:?}"
            ));
        }
        announced.push(got);
    }

    // The agreements meet their fates; those that expire run out.
    for (i, a) in world.agreements.iter().enumerate() {
        let step = match a.fate {
            Fate::Suspended => "suspend",
            Fate::Terminated => "terminate",
            _ => continue,
        };
        // A community's coordinator steers it; either party of a bilateral one.
        let steer = if a.community { 0 } else { a.parties.len() - 1 };
        let by = &orgs[a.parties[steer].0].s;
        let (s, b) = app
            .post(
                &format!("/api/v1/agreements/{}/{step}", ids[i]),
                by,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{step}: {b}");
    }
    if world.agreements.iter().any(|a| a.fate == Fate::Expires) {
        let left = until - chrono::Utc::now() + chrono::Duration::milliseconds(100);
        tokio::time::sleep(left.to_std().unwrap_or_default()).await;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let after = terms_of(world, &ids, &org_ids, until.timestamp_millis(), true);

    for (r, org) in orgs.iter().enumerate() {
        let person = Some(org.s.email.as_str());
        let want_user = allowed(&stored, &after, &org_ids, r, person, now);
        let want_org = allowed(&stored, &after, &org_ids, r, None, now);
        let s = &org.s;
        let key_of = |stix_id: &str| {
            stored
                .iter()
                .find(|o| o.stix_id == stix_id && (o.owner == r || want_org.contains(&o.key)))
                .or_else(|| stored.iter().find(|o| o.stix_id == stix_id))
                .map(|o| o.key.clone())
                .unwrap_or_else(|| format!("unknown {stix_id}"))
        };
        let same = |exit: &str, got: BTreeSet<String>, want: &BTreeSet<String>| {
            if got == *want {
                Ok(())
            } else {
                Err(format!(
                    "{exit} for org{r}: got {got:?}, the policy allows {want:?}"
                ))
            }
        };

        // REST: the list and its total, each object, its versions and its sightings.
        let (_, list) = app.get("/api/v1/stix-objects?per_page=100", s).await;
        let got: BTreeSet<String> = list["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| i["key"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        same("GET /stix-objects", got, &want_user)?;
        if list["total"] != json!(want_user.len()) {
            return Err(format!("list total for org{r}: {}", list["total"]));
        }
        for o in &stored {
            for path in ["", "/versions", "/sightings"] {
                let (status, _) = app
                    .get(&format!("/api/v1/stix-objects/{}{path}", o.key), s)
                    .await;
                let want = if want_user.contains(&o.key) {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                if status != want {
                    return Err(format!(
                        "GET /stix-objects/{}{path} for org{r}: {status}, want {want}",
                        o.key
                    ));
                }
            }
        }

        // Export (organisation-wide) and lookup (the caller's own).
        let (status, bundle) = app.get("/api/v1/stix-objects/export?format=stix", s).await;
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let got: BTreeSet<String> = bundle["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| !matches!(o["type"].as_str(), Some("identity" | "marking-definition")))
            .map(|o| key_of(o["id"].as_str().unwrap()))
            .collect();
        same("export", got, &want_org)?;
        let values: Vec<&String> = stored.iter().filter_map(|o| o.value.as_ref()).collect();
        if !values.is_empty() {
            let (status, found) = app
                .post("/api/v1/lookup", s, json!({"values": values}))
                .await;
            assert_eq!(status, StatusCode::OK, "{found}");
            let got: BTreeSet<String> = found["answers"]
                .as_array()
                .or_else(|| found.as_array())
                .expect("lookup answers")
                .iter()
                .flat_map(|a| a["matches"].as_array().cloned().unwrap_or_default())
                .map(|m| m["key"].as_str().unwrap().to_string())
                .collect();
            let want: BTreeSet<String> = want_user
                .iter()
                .filter(|k| stored.iter().any(|o| o.key == **k && o.value.is_some()))
                .cloned()
                .collect();
            same("lookup", got, &want)?;
        }

        // TAXII with the organisation's token: a collection for each agreement in force it is
        // a party to (and its own); the union of what they hold is what the policy allows.
        let token = &org.token;
        let (status, cols) = taxii(&app, token, "/taxii2/api/collections/").await;
        assert_eq!(status, StatusCode::OK, "{cols}");
        let listed: BTreeSet<String> = cols["collections"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let in_force: BTreeSet<String> = after
            .values()
            .filter(|t| t.in_force(now) && t.role_of(&org.s.org_id).is_some())
            .map(|t| t.agreement_id.clone())
            .collect();
        let agreements_listed: BTreeSet<String> =
            listed.iter().filter(|c| ids.contains(c)).cloned().collect();
        if agreements_listed != in_force {
            return Err(format!(
                "TAXII collections of org{r}: {agreements_listed:?}, in force {in_force:?}"
            ));
        }
        let (mut objects, mut manifest) = (BTreeSet::new(), BTreeSet::new());
        for c in &listed {
            let (_, page) = taxii(
                &app,
                token,
                &format!("/taxii2/api/collections/{c}/objects/?limit=1000"),
            )
            .await;
            for o in page["objects"].as_array().cloned().unwrap_or_default() {
                objects.insert(key_of(o["id"].as_str().unwrap()));
            }
            let (_, m) = taxii(
                &app,
                token,
                &format!("/taxii2/api/collections/{c}/manifest/?limit=1000"),
            )
            .await;
            for o in m["objects"].as_array().cloned().unwrap_or_default() {
                manifest.insert(key_of(o["id"].as_str().unwrap()));
            }
        }
        same("TAXII objects", objects, &want_org)?;
        same("TAXII manifest", manifest, &want_org)?;
        // One object's versions in an agreement's collection: never what the policy refuses.
        for ag in &ids {
            for o in &stored {
                let (status, _) = taxii(
                    &app,
                    token,
                    &format!(
                        "/taxii2/api/collections/{ag}/objects/{}/versions/",
                        o.stix_id
                    ),
                )
                .await;
                let may = o.owner == r || want_org.contains(&o.key);
                if status == StatusCode::OK && !may || status.is_server_error() {
                    return Err(format!(
                        "TAXII versions of {} in {ag} for org{r}: {status}",
                        o.key
                    ));
                }
            }
        }
    }

    // The stream withdrew exactly what was announced and is no longer allowed.
    let heard = notices(&mut orgs, "indicator.revoked", 1000).await;
    for (r, got) in heard.into_iter().enumerate() {
        let still = allowed(&stored, &after, &org_ids, r, None, now);
        let want: BTreeSet<String> = announced[r].difference(&still).cloned().collect();
        if got != want {
            return Err(format!(
                "stream withdrew from org{r}: {got:?}, want {want:?}"
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_exit_lets_through_exactly_what_the_policy_allows() {
    let cases: usize = std::env::var("POLICY_EXIT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut runner = TestRunner::default();
    let strategy = world();
    for case in 0..cases {
        let world = strategy.new_tree(&mut runner).expect("a world").current();
        if let Err(e) = check(&world).await {
            panic!("case {case}: {e}\nworld: {world:#?}");
        }
    }
}

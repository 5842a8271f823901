//! The demo world's indicator exchange: a Cloud ISAC community (the ISAC coordinating Nimbus,
//! Acme and Globex, sources pseudonymous), a bilateral Nimbus-Acme agreement, and three
//! hundred indicators of the internal "suspicious API key usage" investigation, tied to it by
//! a STIX report: AMBER ones shared with Acme, GREEN ones with the community.

use crate::auth::Caller;
use crate::error::AppError;
use crate::sharing::{agreements, objects};
use cirhub_shared::sharing::*;
use serde_json::{json, Value};

/// Fixed creation time of the demo objects (their ids are fresh on every seed).
const CREATED: &str = "2026-11-30T08:00:00.000Z";

fn terms(kind: AgreementKind, title: &str, parties: Vec<(&str, PartyRole)>) -> AgreementTermsInput {
    AgreementTermsInput {
        kind,
        title: title.into(),
        purpose: String::new(),
        parties: parties
            .into_iter()
            .map(|(organisation, role)| PartyInput {
                organisation: organisation.into(),
                role,
            })
            .collect(),
        effective_from: None,
        effective_until: None,
        categories: vec![DataCategory::Indicators, DataCategory::ThreatContext],
        tlp_ceiling: Tlp::Green,
        onward: OnwardSharing::None,
        attribution: Attribution::Named,
        retention_days: 365,
    }
}

/// Every party other than the proposer accepts version 1.
fn accept_all(c: &mut crate::db::DbConn, id: &str, others: &[&Caller]) -> Result<(), AppError> {
    for who in others {
        agreements::accept(c, who, id, &AcceptAgreement { version: 1 })?;
    }
    Ok(())
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn indicator(tlp: Tlp, name: String, pattern: String) -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid()),
        "created": CREATED, "modified": CREATED, "name": name,
        "indicator_types": ["malicious-activity"], "pattern": pattern, "pattern_type": "stix",
        "valid_from": CREATED, "confidence": 70,
        "object_marking_refs": [tlp.marking_definition_id()],
    })
}

/// Seeds the exchange; `nimbus`, `acme`, `globex`, `isac` are each organisation's admin.
pub fn seed(
    c: &mut crate::db::DbConn,
    nimbus: &Caller,
    acme: &Caller,
    globex: &Caller,
    isac: &Caller,
    incident_id: &str,
) -> Result<(), AppError> {
    use PartyRole::*;
    let mut community = terms(
        AgreementKind::Community,
        "Cloud ISAC indicator exchange",
        vec![
            ("cloud-isac", Coordinator),
            ("nimbus", Member),
            ("acme", Member),
            ("globex", Member),
        ],
    );
    community.attribution = Attribution::Pseudonymous;
    community.onward = OnwardSharing::Community;
    community.purpose = "Members share indicators of attacks on their cloud estates.".into();
    let isac_id = agreements::propose(c, isac, &community)?.id;
    accept_all(c, &isac_id, &[nimbus, acme, globex])?;

    let mut bilateral = terms(
        AgreementKind::Bilateral,
        "Nimbus incident indicators for Acme",
        vec![("nimbus", Provider), ("acme", Customer)],
    );
    bilateral.tlp_ceiling = Tlp::Amber;
    bilateral.categories.push(DataCategory::Reports);
    bilateral.retention_days = 180;
    bilateral.purpose = "Indicators of incidents that affect Acme's tenants.".into();
    let acme_id = agreements::propose(c, nimbus, &bilateral)?.id;
    accept_all(c, &acme_id, &[acme])?;

    let mut refs = Vec::new();
    let mut put = |c: &mut crate::db::DbConn, object: Value, under: &str| -> Result<(), AppError> {
        let input = PutStixObject {
            object,
            share_under: vec![under.to_owned()],
            named_recipients: None,
        };
        let (view, _) = objects::put(c, nimbus, &input)?;
        refs.push(view.id);
        Ok(())
    };
    // 240 scanner addresses from the unknown ASN: the first half AMBER for Acme, the rest
    // GREEN for the community; 40 phishing domains and 20 loader hashes for the community.
    for i in 0..240u32 {
        let (tlp, under) = if i < 120 {
            (Tlp::Amber, &acme_id)
        } else {
            (Tlp::Green, &isac_id)
        };
        let ip = format!("203.0.113.{}", i % 250 + 1);
        let ip = if i >= 120 {
            format!("198.51.100.{}", i - 119)
        } else {
            ip
        };
        let o = indicator(
            tlp,
            format!("API key abuse source {ip}"),
            format!("[ipv4-addr:value = '{ip}']"),
        );
        put(c, o, under)?;
    }
    for i in 0..40u32 {
        let domain = format!("login-nimbus-{i}.example");
        let o = indicator(
            Tlp::Green,
            format!("Credential phishing {domain}"),
            format!("[domain-name:value = '{domain}']"),
        );
        put(c, o, &isac_id)?;
    }
    for i in 0..20u32 {
        let hash = format!("{:064x}", 0x5eed_0000_u64 + u64::from(i));
        let o = indicator(
            Tlp::Green,
            format!("Key-stealing loader sample {i}"),
            format!("[file:hashes.'SHA-256' = '{hash}']"),
        );
        put(c, o, &isac_id)?;
    }
    let report = json!({
        "type": "report", "spec_version": "2.1", "id": format!("report--{}", uuid()),
        "created": CREATED, "modified": CREATED,
        "name": "Suspicious API key usage from unknown ASN",
        "report_types": ["attack-pattern", "indicator"], "published": CREATED,
        "object_refs": refs.iter().take(120).cloned().collect::<Vec<_>>(),
        "external_references": [{"source_name": "cirhub", "external_id": incident_id}],
        "object_marking_refs": [Tlp::Amber.marking_definition_id()],
    });
    objects::put(
        c,
        nimbus,
        &PutStixObject {
            object: report,
            share_under: vec![acme_id],
            named_recipients: None,
        },
    )?;
    Ok(())
}

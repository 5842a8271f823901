//! The demo world's escalation: policies for Nimbus and both customers, saved before the
//! demo's incidents are opened (so those start escalating: the open ones are in flight at
//! first start), and Nimbus's regulatory clocks on the internal investigation.

use crate::auth::Caller;
use crate::error::AppError;
use crate::escalation::{deadlines, policy};
use cirhub_shared::clocks::{ClockInput, DecisionInput, DecisionKind, Regime};
use serde_json::json;

fn who<'a>(people: &'a [(&str, Caller)], email: &str) -> Result<&'a Caller, AppError> {
    people
        .iter()
        .find(|(e, _)| *e == email)
        .map(|(_, c)| c)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no demo account {email}")))
}

fn save(
    c: &mut crate::db::DbConn,
    admin: &Caller,
    body: serde_json::Value,
) -> Result<(), AppError> {
    let input = serde_json::from_value(body).map_err(|e| AppError::Internal(e.into()))?;
    policy::put(c, admin, &input)?;
    Ok(())
}

/// Each organisation's policy: Nimbus routes urgent and security incidents to its analysts
/// then its admins, by day and by night; Acme escalates what touches its contracted scope;
/// Globex tells its admin.
pub fn policies(c: &mut crate::db::DbConn, people: &[(&str, Caller)]) -> Result<(), AppError> {
    let analyst = |channels: &[&str], wait: u32| json!({"targets": [{"kind": "role", "id": "analyst", "channels": channels}], "wait_minutes": wait});
    let admin = |wait: Option<u32>| json!({"targets": [{"kind": "role", "id": "admin", "channels": ["email"]}], "wait_minutes": wait});
    save(
        c,
        who(people, "admin@nimbus.example")?,
        json!({
            "time_zone": "Asia/Tokyo",
            "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"},
            "rules": [
                {"name": "Security", "match": {"categories": ["hacking_dos", "ransomware"]},
                 "levels": [analyst(&["email", "websocket"], 10), admin(Some(20))], "repeat": 1},
                {"name": "Urgent", "match": {"priorities": ["P1", "P2"]},
                 "levels": [analyst(&["email", "websocket"], 15), admin(Some(30))], "repeat": 1},
                {"name": "Business hours", "match": {"hours": "business"}, "levels": [analyst(&["email"], 60), admin(None)]},
                {"name": "Outside business hours", "match": {"hours": "outside_business"}, "levels": [admin(None)]}
            ]
        }),
    )?;
    save(
        c,
        who(people, "admin@acme.example")?,
        json!({
            "time_zone": "Asia/Tokyo",
            "rules": [
                {"name": "Touches what we run", "match": {"in_scope": true},
                 "levels": [analyst(&["email", "websocket"], 10), admin(Some(30))]},
                {"name": "Anything else", "match": {}, "levels": [admin(None)]}
            ]
        }),
    )?;
    save(
        c,
        who(people, "admin@globex.example")?,
        json!({
            "time_zone": "America/New_York",
            "rules": [{"name": "All", "match": {}, "levels": [admin(Some(60))]}]
        }),
    )?;
    Ok(())
}

/// Nimbus became aware of the investigation 20 hours ago and classified it significant 6
/// hours ago: its GDPR and NIS2 clocks run.
pub fn clocks(
    c: &mut crate::db::DbConn,
    people: &[(&str, Caller)],
    investigation: &str,
    now: i64,
) -> Result<(), AppError> {
    let analyst = who(people, "analyst@nimbus.example")?;
    let hours_ago = |h: i64| Some(cirhub_shared::time::from_millis(now - h * 3_600_000));
    for (kind, at, reason) in [
        (
            DecisionKind::Aware,
            hours_ago(20),
            "SOC alert: API keys used from an unknown ASN; customer data may have been read",
        ),
        (
            DecisionKind::ClassifiedSignificant,
            hours_ago(6),
            "Identity API abuse affecting more than 5 % of EU users",
        ),
    ] {
        deadlines::decide(
            c,
            analyst,
            investigation,
            &DecisionInput {
                kind,
                at,
                reason: reason.into(),
            },
            now,
        )?;
    }
    for regime in [Regime::GdprArt33, Regime::Nis2Art23] {
        let input = ClockInput {
            regime,
            time_zone: Some("Europe/Dublin".into()),
            holidays: vec![],
            contract_hours: None,
            malicious: false,
        };
        deadlines::start(c, analyst, investigation, &input, now)?;
    }
    // The provider's own record of the investigation: who owns the system, whom to tell.
    use cirhub_shared::record::*;
    let record = RecordInput {
        version: None,
        intake: Intake {
            what: Some("Identity API calls with valid keys from an ASN no customer uses".into()),
            where_: Some("Identity (global), API key service".into()),
            when: Some("First seen 20 hours ago in the SOC's anomaly report".into()),
            who: Some("Reported by the SOC; keys belong to several customers".into()),
            why: Some("Suspected leaked keys from a third-party CI service".into()),
        },
        contacts: vec![
            Contact {
                role: ContactRole::SystemOwner,
                name: "Identity platform lead".into(),
                email: Some("identity-lead@nimbus.example".into()),
                phone: None,
                organisation: Some("Nimbus Cloud".into()),
            },
            Contact {
                role: ContactRole::Dpo,
                name: "Data protection officer".into(),
                email: Some("dpo@nimbus.example".into()),
                phone: None,
                organisation: Some("Nimbus Cloud".into()),
            },
        ],
        related: Vec::new(),
        next_steps: vec![NextStep {
            text: "Revoke the keys seen from the unknown ASN and tell their owners".into(),
            owner: Some("Identity platform lead".into()),
            due_at: None,
            done: false,
        }],
    };
    crate::incidents::record::put(c, analyst, investigation, &record)?;
    Ok(())
}

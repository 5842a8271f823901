//! The provider's priority policy: how impact and urgency map to P1-P5, and the response
//! and resolution targets each priority carries (the CSA CIR defaults until a provider sets
//! its own). Each change's audit entry carries the hash of the policy it set.

use crate::audit::{self, Event};
use crate::catalogue::provider_org;
use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::DbConn;
use crate::error::{AppError, Check};
use crate::identity::Caller;
use cirhub_shared::api::PriorityPolicy;
use diesel::prelude::*;

/// The provider's policy, or the CSA CIR defaults.
pub fn priority_policy(org: &OrgRow) -> PriorityPolicy {
    org.priority_policy
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(PriorityPolicy::default_policy)
}

pub fn get_policy(conn: &mut DbConn, caller: &Caller) -> Result<PriorityPolicy, AppError> {
    Ok(priority_policy(&provider_org(conn, &caller.org_id)?))
}

/// Replaces the policy; every impact x urgency pair must be covered exactly once.
pub fn put_policy(
    conn: &mut DbConn,
    caller: &Caller,
    policy: &PriorityPolicy,
) -> Result<PriorityPolicy, AppError> {
    let org = provider_org(conn, &caller.org_id)?;
    let mut check = Check::new();
    for impact in cirhub_shared::Impact::ALL {
        for urgency in cirhub_shared::Urgency::ALL {
            let n = policy
                .matrix
                .iter()
                .filter(|r| r.impact == *impact && r.urgency == *urgency)
                .count();
            check.ensure(
                n == 1,
                "matrix",
                &format!(
                    "needs exactly one cell for impact {impact} x urgency {urgency} (has {n})"
                ),
            );
        }
    }
    for p in cirhub_shared::Priority::ALL {
        let n = policy.targets.iter().filter(|t| t.priority == *p).count();
        check.ensure(
            n == 1,
            "targets",
            &format!("needs exactly one target for {p} (has {n})"),
        );
    }
    check.done()?;
    let text = serde_json::to_string(policy).map_err(anyhow::Error::from)?;
    diesel::update(organisations::table.find(&org.id))
        .set((
            organisations::priority_policy.eq(&text),
            organisations::updated_at.eq(now_ms()),
        ))
        .execute(conn)?;
    audit::append(
        conn,
        Event::change(
            &caller.actor,
            &caller.org_id,
            "priority_policy.update",
            "organisation",
            &org.id,
        )
        .version(None, policy)?,
    )?;
    Ok(policy.clone())
}

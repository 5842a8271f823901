//! The one policy check of the customer side: which customer organisations may see a
//! provider's record. Dashboards, feeds, the stream and e-mail all ask here.
//!
//! A customer sees a provider's record only through an active relationship, and then:
//! `public` and `affected` records when they touch the contracted services x regions (a
//! record naming no component touches everyone; a relationship with no scopes covers the
//! whole catalogue), `named` records when the provider named it, `internal` never.

use crate::db::rows::*;
use crate::db::schema::*;
use crate::db::{DbConn, MultiBackend};
use crate::error::AppError;
use cirhub_shared::{ServiceModel, Visibility};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use std::collections::HashMap;

/// An active relationship with its contracted scopes.
#[derive(Debug, Clone)]
pub struct Link {
    pub rel: RelationshipRow,
    pub model: ServiceModel,
    /// (service id, region id or "" for every region).
    pub scopes: Vec<(String, String)>,
}

/// Where a record sits: (service id, region id) of each component it names.
pub type Footprint = Vec<(String, Option<String>)>;

impl Link {
    /// Whether a record with this footprint touches what the customer contracted.
    pub fn touches(&self, footprint: &Footprint) -> bool {
        if self.scopes.is_empty() || footprint.is_empty() {
            return true;
        }
        footprint.iter().any(|(service, region)| {
            self.scopes.iter().any(|(s, r)| {
                s == service && (r.is_empty() || region.as_deref().is_none_or(|x| x == r))
            })
        })
    }

    /// The policy check.
    pub fn sees(&self, visibility: Visibility, footprint: &Footprint, named: &[String]) -> bool {
        match visibility {
            Visibility::Internal => false,
            Visibility::Named => named.contains(&self.rel.customer_id),
            Visibility::Public | Visibility::Affected => self.touches(footprint),
        }
    }
}

fn links(conn: &mut DbConn, rels: Vec<RelationshipRow>) -> Result<Vec<Link>, AppError> {
    let ids: Vec<String> = rels.iter().map(|r| r.id.clone()).collect();
    let mut scopes: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (rel, service, region) in relationship_scopes::table
        .filter(relationship_scopes::relationship_id.eq_any(&ids))
        .select((
            relationship_scopes::relationship_id,
            relationship_scopes::service_id,
            relationship_scopes::region_id,
        ))
        .load::<(String, String, String)>(conn)?
    {
        scopes.entry(rel).or_default().push((service, region));
    }
    rels.into_iter()
        .map(|rel| {
            Ok(Link {
                model: parse_stored(&rel.service_model, "service model")?,
                scopes: scopes.remove(&rel.id).unwrap_or_default(),
                rel,
            })
        })
        .collect()
}

/// Active relationships of a provider with its customers.
pub fn customers_of(conn: &mut DbConn, provider_id: &str) -> Result<Vec<Link>, AppError> {
    let rels = relationships::table
        .filter(relationships::provider_id.eq(provider_id))
        .filter(relationships::status.eq("active"))
        .select(RelationshipRow::as_select())
        .load(conn)?;
    links(conn, rels)
}

/// Active relationships of a customer with its providers.
pub fn providers_of(conn: &mut DbConn, customer_id: &str) -> Result<Vec<Link>, AppError> {
    let rels = relationships::table
        .filter(relationships::customer_id.eq(customer_id))
        .filter(relationships::status.eq("active"))
        .select(RelationshipRow::as_select())
        .load(conn)?;
    links(conn, rels)
}

/// The footprint of an incident (its components' services and regions).
pub fn incident_footprint(conn: &mut DbConn, incident_id: &str) -> Result<Footprint, AppError> {
    Ok(incident_components::table
        .inner_join(components::table)
        .filter(incident_components::incident_id.eq(incident_id))
        .select((components::service_id, components::region_id))
        .load(conn)?)
}

/// The named audience of an incident.
pub fn named_audience(conn: &mut DbConn, incident_id: &str) -> Result<Vec<String>, AppError> {
    Ok(incident_audiences::table
        .filter(incident_audiences::incident_id.eq(incident_id))
        .select(incident_audiences::customer_id)
        .order(incident_audiences::customer_id.asc())
        .load(conn)?)
}

/// Every customer organisation that may see an incident of `provider_id`, sorted.
pub fn incident_audience(conn: &mut DbConn, row: &IncidentRow) -> Result<Vec<String>, AppError> {
    let visibility: Visibility = parse_stored(&row.visibility, "visibility")?;
    if visibility == Visibility::Internal {
        return Ok(Vec::new());
    }
    let footprint = incident_footprint(conn, &row.id)?;
    let named = named_audience(conn, &row.id)?;
    let mut out: Vec<String> = customers_of(conn, &row.provider_id)?
        .into_iter()
        .filter(|l| l.sees(visibility, &footprint, &named))
        .map(|l| l.rel.customer_id)
        .collect();
    out.sort();
    Ok(out)
}

/// The customer's link to the provider of `row` if the customer may see it (else `None`).
pub fn customer_sees(
    conn: &mut DbConn,
    customer_id: &str,
    row: &IncidentRow,
) -> Result<Option<Link>, AppError> {
    let visibility: Visibility = parse_stored(&row.visibility, "visibility")?;
    let Some(link) = providers_of(conn, customer_id)?
        .into_iter()
        .find(|l| l.rel.provider_id == row.provider_id)
    else {
        return Ok(None);
    };
    let footprint = incident_footprint(conn, &row.id)?;
    let named = named_audience(conn, &row.id)?;
    Ok(link.sees(visibility, &footprint, &named).then_some(link))
}

/// A condition on `incidents` rows, built at run time.
pub type Cond = Box<dyn BoxableExpression<incidents::table, MultiBackend, SqlType = Bool>>;

/// The customer's active relationships, each with the provider's components it covers.
pub fn coverage(
    conn: &mut DbConn,
    customer: &str,
    provider: Option<&str>,
) -> Result<Vec<(Link, Vec<String>)>, AppError> {
    let mut out = Vec::new();
    for link in providers_of(conn, customer)? {
        if provider.is_some_and(|p| p != link.rel.provider_id) {
            continue;
        }
        let covered: Vec<String> = components::table
            .filter(components::provider_id.eq(&link.rel.provider_id))
            .select((
                components::id,
                components::service_id,
                components::region_id,
            ))
            .load::<(String, String, Option<String>)>(conn)?
            .into_iter()
            .filter(|(_, s, r)| link.touches(&vec![(s.clone(), r.clone())]))
            .map(|(id, _, _)| id)
            .collect();
        out.push((link, covered));
    }
    Ok(out)
}

/// The policy check of [`Link::sees`] as SQL over many records, so that the database
/// filters before it counts and pages: `named` records naming the customer; `public` and
/// `affected` ones naming no component or one the relationship covers; never `internal`.
pub fn seen_by(customer: &str, links: &[(Link, Vec<String>)]) -> Cond {
    let mut any: Cond = Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    for (link, covered) in links {
        let named: Cond = Box::new(
            incidents::visibility.eq(Visibility::Named.as_str()).and(
                incidents::id.eq_any(
                    incident_audiences::table
                        .filter(incident_audiences::customer_id.eq(customer.to_owned()))
                        .select(incident_audiences::incident_id),
                ),
            ),
        );
        let wide = [Visibility::Public.as_str(), Visibility::Affected.as_str()];
        let touching: Cond = if link.scopes.is_empty() {
            Box::new(incidents::visibility.eq_any(wide))
        } else {
            let linked = incident_components::table.select(incident_components::incident_id);
            let covering = incident_components::table
                .filter(incident_components::component_id.eq_any(covered.clone()))
                .select(incident_components::incident_id);
            Box::new(
                incidents::visibility.eq_any(wide).and(
                    incidents::id
                        .ne_all(linked)
                        .or(incidents::id.eq_any(covering)),
                ),
            )
        };
        let this: Cond = Box::new(
            incidents::provider_id
                .eq(link.rel.provider_id.clone())
                .and(named.or(touching)),
        );
        any = Box::new(any.or(this));
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(scopes: &[(&str, &str)]) -> Link {
        Link {
            rel: RelationshipRow {
                id: "r".into(),
                provider_id: "p".into(),
                customer_id: "c".into(),
                service_model: "iaas".into(),
                status: "active".into(),
                invited_by: None,
                accepted_by: None,
                invited_at: 0,
                accepted_at: None,
                ended_at: None,
                version: 1,
                updated_at: 0,
            },
            model: ServiceModel::Iaas,
            scopes: scopes
                .iter()
                .map(|(s, r)| (s.to_string(), r.to_string()))
                .collect(),
        }
    }

    #[test]
    fn scopes_decide_what_touches_a_customer() {
        let fp = |v: &[(&str, Option<&str>)]| -> Footprint {
            v.iter()
                .map(|(s, r)| (s.to_string(), r.map(str::to_string)))
                .collect()
        };
        let l = link(&[("compute", "tokyo")]);
        assert!(l.touches(&fp(&[("compute", Some("tokyo"))])));
        assert!(!l.touches(&fp(&[("compute", Some("osaka"))])));
        assert!(!l.touches(&fp(&[("storage", Some("tokyo"))])));
        assert!(l.touches(&fp(&[("compute", None)])), "global component");
        assert!(l.touches(&fp(&[])), "no component named");
        assert!(link(&[]).touches(&fp(&[("storage", Some("osaka"))])));
        assert!(link(&[("compute", "")]).touches(&fp(&[("compute", Some("osaka"))])));
        let affected = fp(&[("compute", Some("osaka"))]);
        assert!(!l.sees(Visibility::Public, &affected, &[]));
        assert!(l.sees(Visibility::Named, &affected, &["c".into()]));
        assert!(!l.sees(Visibility::Named, &fp(&[]), &["d".into()]));
        assert!(!l.sees(Visibility::Internal, &fp(&[]), &["c".into()]));
    }
}

//! Response metrics (time to detect, acknowledge, notify, recover, contain) as JSON or CSV,
//! each incident's samples behind them, and an incident's milestone edits.

use crate::auth::Caller;
use crate::error::AppError;
use crate::incidents::{milestones, response_metrics as rm};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use cirhub_shared::metrics::*;
use cirhub_shared::time::to_millis;
use cirhub_shared::{Channel, Problem};
use serde::Deserialize;

type State = web::Data<AppState>;

// Each parameter is read as text and parsed here, so a bad one is refused naming itself.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// `month` (of detection, UTC; default), `priority`, `provider` or `customer`.
    pub by: Option<String>,
    /// Only incidents detected at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Only incidents detected before this instant (RFC 3339).
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

fn instant(v: &Option<String>, field: &str) -> Result<Option<i64>, AppError> {
    v.as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| to_millis(&t.with_timezone(&Utc)))
                .map_err(|_| {
                    AppError::field(field, "an RFC 3339 instant, e.g. 2026-11-01T00:00:00Z")
                })
        })
        .transpose()
}

impl MetricsQuery {
    fn range(&self) -> Result<rm::Range, AppError> {
        let range = rm::Range {
            from: instant(&self.from, "from")?,
            to: instant(&self.to, "to")?,
        };
        if let (Some(f), Some(t)) = (range.from, range.to) {
            if f >= t {
                return Err(AppError::field("to", "must be after from"));
            }
        }
        Ok(range)
    }

    fn by(&self) -> Result<GroupBy, AppError> {
        match self.by.as_deref() {
            None | Some("month") => Ok(GroupBy::Month),
            Some("priority") => Ok(GroupBy::Priority),
            Some("provider") => Ok(GroupBy::Provider),
            Some("customer") => Ok(GroupBy::Customer),
            Some(_) => Err(AppError::field(
                "by",
                "month, priority, provider or customer",
            )),
        }
    }

    fn csv(&self) -> Result<bool, AppError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(AppError::field("format", "json or csv")),
        }
    }
}

fn csv_file(body: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "content-disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

#[utoipa::path(get, path = "/api/v1/metrics/response", tag = "metrics", operation_id = "get_response_metrics",
    params(MetricsQuery),
    responses((status = 200, body = ResponseMetrics), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// Mean, median and nearest-rank p90 (seconds) of each response measure, with the count of
/// samples and of those still pending, per group and in total; exercises are left out. A
/// provider's view covers its incidents and every customer's side; a customer's view its
/// providers' incidents that reached it and its own side. `definitions` states each formula.
pub async fn aggregate(
    state: State,
    caller: Caller,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let (range, csv, by) = (q.range()?, q.csv()?, q.by()?);
    let channel = if csv { Channel::Export } else { Channel::Http };
    let out = state
        .journal
        .read(move |c| rm::aggregate(c, &caller, by, range, channel))
        .await?;
    if csv {
        Ok(csv_file(
            rm::aggregate_csv(&out)?,
            "cirhub-response-metrics.csv",
        ))
    } else {
        Ok(HttpResponse::Ok().json(out))
    }
}

#[utoipa::path(get, path = "/api/v1/metrics/response/samples", tag = "metrics", operation_id = "get_response_samples",
    params(MetricsQuery),
    responses((status = 200, body = Samples), (status = 400, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
/// The instants and measures of every incident behind the aggregate (`by` is ignored): the
/// provenance of each figure, with the source of the acknowledgement and the count of
/// milestone edits. CSV: one row per incident and customer.
pub async fn samples(
    state: State,
    caller: Caller,
    q: web::Query<MetricsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let (range, csv) = (q.range()?, q.csv()?);
    let channel = if csv { Channel::Export } else { Channel::Http };
    let out = state
        .journal
        .read(move |c| rm::samples(c, &caller, range, channel))
        .await?;
    if csv {
        Ok(csv_file(
            rm::samples_csv(&out)?,
            "cirhub-response-samples.csv",
        ))
    } else {
        Ok(HttpResponse::Ok().json(out))
    }
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/milestones", tag = "metrics", operation_id = "list_milestone_edits",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Vec<MilestoneEdit>), (status = 404, body = Problem)), security(("bearer" = [])))]
/// Every change of one of the provider's incidents' lifecycle milestones after the fact: which,
/// from what to what, who, when and why (oldest first).
pub async fn edits(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let out = state
        .db
        .read(move |c| milestones::list(c, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

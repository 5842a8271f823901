//! Job kinds whose work is a domain service: each runs it through the executor (or hands the
//! executor each committed batch's effects), so the stream frames, mails and jobs it
//! writes wake this instance's live parts at once. They sit here, above the domain modules,
//! which never see the executor.

use crate::executor::Executor;
use crate::jobs::{Kind, Outcome, Retry};
use crate::sharing::{imports, withdrawals};

/// `ioc.import`: one uploaded import, batch by batch.
pub fn import_kind(exec: Executor) -> Kind {
    let retry = Retry {
        base_ms: 5_000,
        max_delay_ms: 60_000,
        max_attempts: 3,
    };
    Kind::once(imports::KIND, retry, move |job| {
        let exec = exec.clone();
        Box::pin(async move {
            let id = job.key.clone();
            let run = move || imports::execute(exec.db(), &id, &|e| exec.apply(e));
            match tokio::task::spawn_blocking(run).await {
                Ok(Ok(())) => Outcome::ok(),
                Ok(Err(e)) => Outcome::failed(e),
                Err(e) => Outcome::failed(e),
            }
        })
    })
}

/// `agreement.review`: what one step of an agreement means for the objects shared under it.
pub fn review_kind(exec: Executor) -> Kind {
    let retry = Retry {
        base_ms: 2_000,
        max_delay_ms: 300_000,
        max_attempts: 10,
    };
    Kind::once(withdrawals::REVIEW, retry, move |job| {
        let exec = exec.clone();
        Box::pin(async move {
            let (payload, key) = (job.payload.clone(), job.key.clone());
            match exec
                .run(move |c| withdrawals::run_review(c, &payload, &key))
                .await
            {
                Ok(()) => Outcome::ok(),
                Err(e) => Outcome::failed(e),
            }
        })
    })
}

/// Timers' retry: a step or an alert that failed is tried again soon, for a while.
const TIMER_RETRY: Retry = Retry {
    base_ms: 1_000,
    max_delay_ms: 60_000,
    max_attempts: 20,
};

/// A job kind that decodes its payload as `P` and runs `work` with the runner's clock in one
/// unit of work, then hands its result to `done`.
fn timer_kind<P, T>(
    exec: Executor,
    name: &'static str,
    work: fn(&mut crate::db::DbConn, P, i64) -> Result<T, crate::error::AppError>,
    done: impl Fn(T) + Clone + Send + Sync + 'static,
) -> Kind
where
    P: serde::de::DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    Kind::once(name, TIMER_RETRY, move |job| {
        let (exec, done) = (exec.clone(), done.clone());
        Box::pin(async move {
            let p: P = match serde_json::from_value(job.payload) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(e),
            };
            let now = job.now_ms;
            match exec.run(move |c| work(c, p, now)).await {
                Ok(out) => {
                    done(out);
                    Outcome::ok()
                }
                Err(e) => Outcome::failed(e),
            }
        })
    })
}

#[derive(serde::Deserialize)]
struct StepPayload {
    escalation_id: String,
    step: usize,
}

/// `escalation.step`: one step of an escalation, at the runner's clock.
pub fn escalation_step_kind(exec: Executor, metrics: crate::metrics::Metrics) -> Kind {
    use crate::escalation::run;
    let work = |c: &mut crate::db::DbConn, p: StepPayload, now| {
        run::fire(c, &p.escalation_id, p.step, now)
    };
    timer_kind(exec, run::STEP, work, move |fired: run::Fired| {
        for channel in &fired.notices {
            metrics
                .escalation_notices
                .with_label_values(&[channel.as_str()])
                .inc();
        }
        if !fired.notices.is_empty() {
            metrics
                .escalation_lateness
                .observe(fired.late_ms.max(0) as f64 / 1000.0);
        }
    })
}

#[derive(serde::Deserialize)]
struct AlertPayload {
    clock_id: String,
    deadline_key: String,
    kind: cirhub_shared::clocks::AlertKind,
    instant: i64,
}

/// `clock.alert`: one alert of one deadline, at the runner's clock.
pub fn clock_alert_kind(exec: Executor) -> Kind {
    use crate::escalation::alerts;
    let work = |c: &mut crate::db::DbConn, p: AlertPayload, now| {
        alerts::fire(c, &p.clock_id, &p.deadline_key, p.kind, p.instant, now)
    };
    timer_kind(exec, alerts::ALERT, work, |_sent: usize| {})
}

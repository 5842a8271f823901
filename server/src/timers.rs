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

/// `escalation.step`: one step of an escalation, at the runner's clock.
pub fn escalation_step_kind(exec: Executor, metrics: crate::metrics::Metrics) -> Kind {
    use crate::escalation::run;
    #[derive(serde::Deserialize)]
    struct Payload {
        escalation_id: String,
        step: usize,
    }
    let retry = Retry {
        base_ms: 1_000,
        max_delay_ms: 60_000,
        max_attempts: 20,
    };
    Kind::once(run::STEP, retry, move |job| {
        let exec = exec.clone();
        let metrics = metrics.clone();
        Box::pin(async move {
            let p: Payload = match serde_json::from_value(job.payload) {
                Ok(p) => p,
                Err(e) => return Outcome::failed(e),
            };
            let now = job.now_ms;
            match exec
                .run(move |c| run::fire(c, &p.escalation_id, p.step, now))
                .await
            {
                Ok(fired) => {
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
                    Outcome::ok()
                }
                Err(e) => Outcome::failed(e),
            }
        })
    })
}

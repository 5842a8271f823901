//! The metrics page (/console/metrics) draws its charts from the API's figures: one bar per
//! month and per priority, each bar's median and p90 those of the API, redrawn for another
//! measure; the table states every measure with its formula; a customer sees its own view.
//!
//! Needs `frontend/dist` (scripts/build-frontend.sh), Chromium and chromedriver.

use crate::browser::Browser;
use crate::harness::*;
use cirhub_shared::metrics::{Measure, ResponseMetrics};
use reqwest::StatusCode;
use serde_json::json;

/// (key, median, p90) of every bar of a chart, once it shows `want` bars whose medians are
/// those wanted (polling while the page redraws).
async fn bars(b: &Browser, css: &str, want: &[(String, String, String)]) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let mut got = Vec::new();
        for e in b.elements(&format!("{css} rect.bar")).await {
            let a = |n: &'static str| {
                let e = e.clone();
                async move { e.attr(n).await.unwrap().unwrap_or_default() }
            };
            got.push((
                a("data-key").await,
                a("data-median").await,
                a("data-p90").await,
            ));
        }
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn expected(m: &ResponseMetrics, measure: Measure) -> Vec<(String, String, String)> {
    let s = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    m.groups
        .iter()
        .map(|g| {
            let st = g.stat(measure).unwrap();
            (g.key.clone(), s(st.median_secs), s(st.p90_secs))
        })
        .collect()
}

#[tokio::test]
async fn the_metrics_page_draws_its_charts_from_the_figures() {
    let app = TestApp::spawn().await;
    let w = app.world().await;
    let p = &w.provider;
    for (title, impact, detected, ack, recovered) in [
        (
            "Storage errors",
            "major",
            "2026-09-03T10:00:00Z",
            "2026-09-03T10:20:00Z",
            "2026-09-03T12:00:00Z",
        ),
        (
            "Slow API",
            "minor",
            "2026-10-07T08:00:00Z",
            "2026-10-07T08:05:00Z",
            "2026-10-07T09:00:00Z",
        ),
        (
            "Launch failures",
            "critical",
            "2026-10-20T08:00:00Z",
            "2026-10-20T08:45:00Z",
            "2026-10-20T15:00:00Z",
        ),
    ] {
        let v: serde_json::Value = app
            .create(
                "/api/v1/incidents",
                p,
                json!({"title": title, "body": "Investigating",
                "impact": impact, "urgency": "high", "detected_at": detected,
                "components": [{"component_id": w.compute_tokyo.id, "status": "partial_outage"}]}),
            )
            .await;
        let (status, v) = app
            .patch(
                &format!("/api/v1/incidents/{}", v["id"].as_str().unwrap()),
                p,
                json!({"acknowledged_at": ack, "recovered_at": recovered, "reason": "pager log"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let get = |q: &'static str| {
        let app = &app;
        async move {
            let (status, v) = app
                .get(&format!("/api/v1/metrics/response?by={q}"), p)
                .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            serde_json::from_value::<ResponseMetrics>(v).unwrap()
        }
    };
    let (months, priorities) = (get("month").await, get("priority").await);
    assert_eq!(months.groups.len(), 2);
    assert_eq!(priorities.groups.len(), 3);

    let browser = Browser::start().await;
    let b = &browser;
    b.open_as(&app, "/console/metrics", &p.email).await;
    b.wait_for_text(
        "#metrics-summary",
        "Provider view · 3 incidents, 3 still open",
    )
    .await;
    bars(
        b,
        "#chart-trend",
        &expected(&months, Measure::ProviderAcknowledge),
    )
    .await;
    bars(
        b,
        "#chart-priority",
        &expected(&priorities, Measure::ProviderAcknowledge),
    )
    .await;
    // October's two: 5 and 45 minutes; the chart says so.
    assert_eq!(
        expected(&months, Measure::ProviderAcknowledge)[1],
        ("2026-10".into(), "1500".into(), "2700".into())
    );
    assert_eq!(b.elements("#chart-trend line.p90").await.len(), 2);
    b.snapshot("metrics").await;

    // Another measure redraws both charts.
    b.element("#metrics-measure")
        .await
        .select_by_value("recover")
        .await
        .unwrap();
    bars(b, "#chart-trend", &expected(&months, Measure::Recover)).await;
    bars(
        b,
        "#chart-priority",
        &expected(&priorities, Measure::Recover),
    )
    .await;
    // A measure without samples says so instead of drawing nothing.
    b.element("#metrics-measure")
        .await
        .select_by_value("detect")
        .await
        .unwrap();
    b.wait_for_text("#chart-trend", "No samples of this measure yet")
        .await;
    b.wait_for_text(
        "tr.measure[data-measure='contain']",
        "(detected_at - occurred_at)",
    )
    .await;
    assert_eq!(b.elements("tr.measure").await.len(), 6);

    // The customer's own view (nothing reached it yet).
    b.log_out().await;
    b.open_as(&app, "/console/metrics", &w.acme.email).await;
    b.wait_for_text("#metrics-summary", "Customer view · 0 incidents")
        .await;
    browser.stop().await;
}

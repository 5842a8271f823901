//! Response metrics: for a chosen measure, the trend by month of detection and the
//! distribution by priority as bar charts (median as the bar, p90 as a tick), every measure's
//! figures with its formula, and CSV exports of the figures and of each incident's instants.
//! Stable selectors: `#metrics-measure`, `#metrics-summary`, `#chart-trend`,
//! `#chart-priority`, `rect.bar[data-key][data-median][data-p90][data-n]`, `line.p90`,
//! `#metrics-table`, `tr.measure[data-measure]`, `#metrics-csv`, `#samples-csv`,
//! `#metrics-error`.

use super::login::RequireLogin;
use crate::api;
use crate::components::error::{error_of, ErrorBox};
use crate::components::nav::Nav;
use cirhub_shared::metrics::*;
use leptos::prelude::*;

#[component]
pub fn MetricsPage() -> impl IntoView {
    view! {
        <RequireLogin>
            <Nav />
            <main class="page"><Metrics /></main>
        </RequireLogin>
    }
}

/// "45 s", "12 min", "3.5 h", "2.1 d".
pub fn duration(secs: f64) -> String {
    let a = secs.abs();
    if a < 90.0 {
        format!("{secs:.0} s")
    } else if a < 90.0 * 60.0 {
        format!("{:.0} min", secs / 60.0)
    } else if a < 48.0 * 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} d", secs / 86_400.0)
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(duration).unwrap_or_else(|| "–".into())
}

#[component]
fn Metrics() -> impl IntoView {
    let by_month =
        LocalResource::new(|| api::get::<ResponseMetrics>("/api/v1/metrics/response?by=month"));
    let by_priority =
        LocalResource::new(|| api::get::<ResponseMetrics>("/api/v1/metrics/response?by=priority"));
    let measure = RwSignal::new(Measure::ProviderAcknowledge);
    let export = Action::new_unsync(|which: &&'static str| {
        let which = *which;
        async move {
            let (path, name) = if which == "samples" {
                (
                    "/api/v1/metrics/response/samples?format=csv",
                    "cirhub-response-samples.csv",
                )
            } else {
                (
                    "/api/v1/metrics/response?by=month&format=csv",
                    "cirhub-response-metrics.csv",
                )
            };
            let text = api::text(path).await?;
            api::save(name, "text/csv", &text)
        }
    });
    let error = Signal::derive(move || {
        error_of(by_month.get())
            .or_else(|| error_of(by_priority.get()))
            .or_else(|| error_of(export.value().get()))
    });
    view! {
        <h1>"Response metrics"</h1>
        <div id="metrics-error"><ErrorBox error=error /></div>
        {move || by_month.get().and_then(Result::ok).map(|m| view! {
            <p id="metrics-summary" class="muted">
                {format!("{} view · {} incidents, {} still open · {} exercises left out · grouped by month of detection (UTC)",
                    crate::format::humanise(&m.perspective), m.total.incidents, m.total.open, m.exercises_excluded)}
            </p>
        })}
        <div class="toolbar">
            <label>"Measure "
                <select id="metrics-measure" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if let Some(m) = Measure::ALL.into_iter().find(|m| m.as_str() == v) {
                        measure.set(m);
                    }
                }>
                    {Measure::ALL.into_iter().map(|m| view! {
                        <option value=m.as_str() selected=m == Measure::ProviderAcknowledge>{format!("{} — {}", m.abbrev(), m.name())}</option>
                    }).collect_view()}
                </select>
            </label>
            <button class="secondary" id="metrics-csv" on:click=move |_| { export.dispatch("metrics"); }
                disabled=move || export.pending().get()>"Export figures (CSV)"</button>
            <button class="secondary" id="samples-csv" on:click=move |_| { export.dispatch("samples"); }
                disabled=move || export.pending().get()>"Export incidents (CSV)"</button>
        </div>
        <div class="charts">
            <section class="card">
                <h2>{move || format!("{} by month", measure.get().abbrev())}</h2>
                {move || by_month.get().and_then(Result::ok).map(|m| chart("chart-trend", &m.groups, measure.get()))}
            </section>
            <section class="card">
                <h2>{move || format!("{} by priority", measure.get().abbrev())}</h2>
                {move || by_priority.get().and_then(Result::ok).map(|m| chart("chart-priority", &m.groups, measure.get()))}
            </section>
        </div>
        <p class="muted">"Bars: median. Ticks: 90th percentile (nearest rank). n: incidents (or customer pairs) with both instants recorded."</p>
        {move || by_month.get().and_then(Result::ok).map(|m| table(&m))}
    }
}

const W: f64 = 560.0;
const H: f64 = 200.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 12.0;

/// A bar chart of `measure` over `groups`: the median as a bar, the p90 as a tick.
fn chart(id: &'static str, groups: &[Group], measure: Measure) -> impl IntoView {
    let points: Vec<(String, Stat)> = groups
        .iter()
        .filter_map(|g| g.stat(measure).map(|s| (g.key.clone(), s.clone())))
        .collect();
    let max = points
        .iter()
        .filter_map(|(_, s)| s.p90_secs.or(s.median_secs))
        .fold(0.0_f64, f64::max);
    if points.iter().all(|(_, s)| s.n == 0) {
        return view! { <p class="muted chart-empty" id=id>"No samples of this measure yet."</p> }
            .into_any();
    }
    let plot = H - BOTTOM - TOP;
    let slot = (W - LEFT) / points.len().max(1) as f64;
    let y = move |v: f64| TOP + plot - if max > 0.0 { v / max * plot } else { 0.0 };
    view! {
        <svg id=id class="chart" viewBox=format!("0 0 {W} {H}") role="img"
            aria-label=format!("{} by group: median bars, p90 ticks", measure.abbrev())>
            <line class="axis" x1=LEFT y1=TOP x2=LEFT y2=H - BOTTOM />
            <line class="axis" x1=LEFT y1=H - BOTTOM x2=W y2=H - BOTTOM />
            <text class="tick-label" x=LEFT - 6.0 y=TOP + 4.0 text-anchor="end">{duration(max)}</text>
            <text class="tick-label" x=LEFT - 6.0 y=H - BOTTOM text-anchor="end">"0"</text>
            {points.into_iter().enumerate().map(|(i, (key, s))| {
                let x = LEFT + i as f64 * slot + slot * 0.2;
                let bw = slot * 0.6;
                let median = s.median_secs.unwrap_or(0.0);
                let top = y(median);
                let p90 = s.p90_secs.map(|p| {
                    let py = y(p);
                    view! { <line class="p90" x1=x - 4.0 y1=py x2=x + bw + 4.0 y2=py /> }
                });
                let tip = format!("{key}: median {}, p90 {}, mean {}, n {}, pending {}",
                    opt(s.median_secs), opt(s.p90_secs), opt(s.mean_secs), s.n, s.pending);
                view! {
                    <g>
                        <rect class="bar" data-key=key.clone() data-n=s.n
                            data-median=s.median_secs.map(|v| v.to_string()).unwrap_or_default()
                            data-p90=s.p90_secs.map(|v| v.to_string()).unwrap_or_default()
                            x=x y=top width=bw height=(H - BOTTOM - top).max(0.0)>
                            <title>{tip}</title>
                        </rect>
                        {p90}
                        <text class="tick-label" x=x + bw / 2.0 y=H - BOTTOM + 14.0 text-anchor="middle">{key}</text>
                        <text class="tick-label muted" x=x + bw / 2.0 y=H - BOTTOM + 28.0 text-anchor="middle">{format!("n={}", s.n)}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}

fn table(m: &ResponseMetrics) -> impl IntoView {
    let rows: Vec<(Definition, Stat)> = m
        .definitions
        .iter()
        .filter_map(|d| m.total.stat(d.measure).map(|s| (d.clone(), s.clone())))
        .collect();
    view! {
        <table id="metrics-table" class="table">
            <thead><tr><th>"Measure"</th><th>"n"</th><th>"Pending"</th><th>"Mean"</th><th>"Median"</th><th>"p90"</th><th>"Formula"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(d, s)| view! {
                    <tr class="measure" data-measure=d.measure.as_str()>
                        <td><strong>{d.abbrev}</strong>" "{d.name}</td>
                        <td>{s.n}</td><td>{s.pending}</td>
                        <td>{opt(s.mean_secs)}</td><td>{opt(s.median_secs)}</td><td>{opt(s.p90_secs)}</td>
                        <td class="muted formula"><code>{d.formula}</code></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

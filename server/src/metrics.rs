//! Prometheus metrics, exposed at `/metrics` in the text exposition format.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The server's metric families.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub audit_entries: IntCounterVec,
    pub stream_connections: IntGauge,
    pub stream_frames: IntCounter,
    pub stream_resyncs: IntCounter,
    /// Mails by outcome: sent, retry, failed.
    pub mails: IntCounterVec,
    /// Jobs by kind and state, read from the table at scrape time.
    pub jobs: IntGaugeVec,
    /// Job runs by kind and outcome: done, retry, failed.
    pub job_runs: IntCounterVec,
    /// Seconds since the oldest pending job fell due (0 when none is overdue).
    pub jobs_oldest_due_age: Gauge,
    /// Personal feed documents by how they were served: hit, rendered, shared.
    pub personal_feeds: IntCounterVec,
    /// Escalations by state, read from the table at scrape time.
    pub escalations: IntGaugeVec,
    /// Escalation notices this instance wrote, by channel.
    pub escalation_notices: IntCounterVec,
    /// How long after its due time each escalation step that told someone ran.
    pub escalation_lateness: Histogram,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("cirhub".into()), None).expect("valid prefix");
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request duration")
                .buckets(vec![0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0]),
            &["route"],
        )
        .expect("valid metric");
        let audit_entries = IntCounterVec::new(
            Opts::new("audit_entries_total", "Audit entries written by kind"),
            &["kind"],
        )
        .expect("valid metric");
        let stream_connections =
            IntGauge::new("stream_connections", "Open WebSocket stream connections")
                .expect("valid metric");
        let stream_frames = IntCounter::new(
            "stream_frames_total",
            "Event frames written to WebSocket clients",
        )
        .expect("valid metric");
        let stream_resyncs = IntCounter::new(
            "stream_resyncs_total",
            "Stream clients told to resynchronise after their queue overflowed",
        )
        .expect("valid metric");
        let mails = IntCounterVec::new(
            Opts::new("mails_total", "Outbox mails by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let jobs = IntGaugeVec::new(
            Opts::new("jobs", "Jobs in the queue by kind and state"),
            &["kind", "state"],
        )
        .expect("valid metric");
        let job_runs = IntCounterVec::new(
            Opts::new("job_runs_total", "Job runs by kind and outcome"),
            &["kind", "outcome"],
        )
        .expect("valid metric");
        let jobs_oldest_due_age = Gauge::new(
            "jobs_oldest_due_age_seconds",
            "How long the oldest pending job has been due",
        )
        .expect("valid metric");
        let personal_feeds = IntCounterVec::new(
            Opts::new(
                "personal_feed_documents_total",
                "Personal feed documents served: from the cache (hit), rendered by the request \
                 (rendered), or a miss that waited for another request's rendering (shared)",
            ),
            &["served"],
        )
        .expect("valid metric");
        let escalations =
            IntGaugeVec::new(Opts::new("escalations", "Escalations by state"), &["state"])
                .expect("valid metric");
        let escalation_notices = IntCounterVec::new(
            Opts::new(
                "escalation_notices_total",
                "Escalation notices written (one per step, person and channel) by channel",
            ),
            &["channel"],
        )
        .expect("valid metric");
        let escalation_lateness = Histogram::with_opts(
            HistogramOpts::new(
                "escalation_step_lateness_seconds",
                "How long after its due time each escalation step that told someone ran",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 30.0, 60.0, 300.0]),
        )
        .expect("valid metric");
        for m in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(audit_entries.clone()),
            Box::new(stream_connections.clone()),
            Box::new(stream_frames.clone()),
            Box::new(stream_resyncs.clone()),
            Box::new(mails.clone()),
            Box::new(jobs.clone()),
            Box::new(job_runs.clone()),
            Box::new(jobs_oldest_due_age.clone()),
            Box::new(personal_feeds.clone()),
            Box::new(escalations.clone()),
            Box::new(escalation_notices.clone()),
            Box::new(escalation_lateness.clone()),
        ] {
            registry.register(m).expect("unique metric");
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            audit_entries,
            stream_connections,
            stream_frames,
            stream_resyncs,
            mails,
            jobs,
            job_runs,
            jobs_oldest_due_age,
            personal_feeds,
            escalations,
            escalation_notices,
            escalation_lateness,
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

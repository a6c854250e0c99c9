//! Telemetry: `tracing` logs and spans, OpenTelemetry OTLP export when an endpoint is
//! configured (off by default; an unreachable collector only costs dropped spans), and
//! Prometheus metrics served on a local port.
//!
//! Spans follow a transaction: `submit` → `admit` → `propose` → `finalize` → `apply`.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Label of the rejection counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Rejection reason.
    pub reason: String,
}

/// Labels of the refused-proposal counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabel {
    /// The leader that proposed (its p2p key, hex).
    pub leader: String,
    /// Why the proposal was refused.
    pub reason: String,
}

/// Labels of the consensus-fault counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabel {
    /// The offending validator (its p2p key, hex).
    pub validator: String,
    /// What the evidence shows (`conflicting_notarize`, …).
    pub kind: String,
}

/// The node's metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Transactions admitted to the mempool.
    pub admitted: Counter,
    /// Transactions refused at admission or skipped at execution, by reason.
    pub rejected: Family<ReasonLabel, Counter>,
    /// Proposals this validator refused to vote for, by leader and reason.
    pub refused_proposals: Family<RefusalLabel, Counter>,
    /// gRPC connections closed before their TLS handshake, by reason.
    pub refused_connections: Family<ReasonLabel, Counter>,
    /// Evidence of equivocation seen, by validator and kind.
    pub consensus_faults: Family<FaultLabel, Counter>,
    /// Pending transactions.
    pub mempool_size: Gauge,
    /// Height of the last applied block.
    pub height: Gauge,
    /// Seconds from admission to finalized execution.
    pub finality_latency: Histogram,
    /// Seconds per batch proof verification.
    pub proof_verification: Histogram,
    /// Actions verified.
    pub verified_actions: Counter,
    /// Transactions applied.
    pub applied: Counter,
    /// Transactions admitted from other validators' gossip.
    pub gossip_admitted: Counter,
    /// Gossip messages not handed to a peer (offline, rate-limited or its send queue
    /// full), one per message and peer: gossip is best effort.
    pub gossip_unsent: Counter,
    /// Pending transactions and commands sent to validators that asked for this node's
    /// pool (each starts hearing this node at its start or after a silence).
    pub gossip_pool_sent: Counter,
    /// Validators heard from recently (see `gossip`).
    pub connected_peers: Gauge,
    /// The last batch the settlement contract holds, as last read.
    pub settled_batch: Gauge,
    /// Batches this validator submitted and saw included.
    pub settlement_submitted: Counter,
    /// Settlement rounds that failed (L1 unreachable, a rejection, a divergence).
    pub settlement_errors: Counter,
    /// Seconds from the timestamp of a batch's last block to its inclusion on L1 (at
    /// the submitter).
    pub settlement_inclusion: Histogram,
    /// Bridge deposits the watcher holds from final L1 blocks (index 0 on, no gap).
    pub l1_deposits_stored: Gauge,
    /// Stored deposit records, not yet minted, that an L1 reorg made the watcher
    /// replace or remove.
    pub l1_deposit_corrections: Counter,
    /// Deposits Sable minted whose L1 deposit a reorg changed or removed since this
    /// process started: the deposit finality is too shallow. Must stay 0.
    pub l1_minted_deposits_reorged: Gauge,
    /// L1 reorgs the watcher noticed beneath blocks it had read.
    pub l1_reorgs: Counter,
    /// Bridge watcher rounds that failed.
    pub l1_watch_errors: Counter,
}

fn buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
    ]
    .into_iter()
}

impl Metrics {
    fn new(registry: &mut Registry) -> Self {
        let m = Metrics {
            admitted: Counter::default(),
            rejected: Family::default(),
            refused_proposals: Family::default(),
            refused_connections: Family::default(),
            consensus_faults: Family::default(),
            mempool_size: Gauge::default(),
            height: Gauge::default(),
            finality_latency: Histogram::new(buckets()),
            proof_verification: Histogram::new(buckets()),
            verified_actions: Counter::default(),
            applied: Counter::default(),
            gossip_admitted: Counter::default(),
            gossip_unsent: Counter::default(),
            gossip_pool_sent: Counter::default(),
            connected_peers: Gauge::default(),
            settled_batch: Gauge::default(),
            settlement_submitted: Counter::default(),
            settlement_errors: Counter::default(),
            settlement_inclusion: Histogram::new([
                0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0,
            ]),
            l1_deposits_stored: Gauge::default(),
            l1_deposit_corrections: Counter::default(),
            l1_minted_deposits_reorged: Gauge::default(),
            l1_reorgs: Counter::default(),
            l1_watch_errors: Counter::default(),
        };
        registry.register(
            "sable_admitted",
            "Transactions admitted",
            m.admitted.clone(),
        );
        registry.register(
            "sable_rejected",
            "Transactions rejected, by reason",
            m.rejected.clone(),
        );
        registry.register(
            "sable_refused_proposals",
            "Proposals this validator refused to vote for, by leader and reason",
            m.refused_proposals.clone(),
        );
        registry.register(
            "sable_consensus_faults",
            "Evidence of equivocation seen, by validator and kind",
            m.consensus_faults.clone(),
        );
        registry.register(
            "sable_rpc_refused_connections",
            "gRPC connections closed before their TLS handshake, by reason",
            m.refused_connections.clone(),
        );
        registry.register(
            "sable_mempool_size",
            "Pending transactions",
            m.mempool_size.clone(),
        );
        registry.register(
            "sable_height",
            "Height of the last applied block",
            m.height.clone(),
        );
        registry.register(
            "sable_finality_latency_seconds",
            "Admission to finalized execution",
            m.finality_latency.clone(),
        );
        registry.register(
            "sable_proof_verification_seconds",
            "Batch proof and signature verification time",
            m.proof_verification.clone(),
        );
        registry.register(
            "sable_verified_actions",
            "Actions verified",
            m.verified_actions.clone(),
        );
        registry.register("sable_applied", "Transactions applied", m.applied.clone());
        registry.register(
            "sable_gossip_admitted",
            "Transactions admitted from other validators' gossip",
            m.gossip_admitted.clone(),
        );
        registry.register(
            "sable_gossip_unsent",
            "Gossip messages not handed to a peer (offline, rate-limited or its send queue full), per peer",
            m.gossip_unsent.clone(),
        );
        registry.register(
            "sable_gossip_pool_sent",
            "Pending transactions and commands sent to validators that asked for this node's pool",
            m.gossip_pool_sent.clone(),
        );
        registry.register(
            "sable_connected_peers",
            "Validators heard from in the last few seconds",
            m.connected_peers.clone(),
        );
        registry.register(
            "sable_settled_batch",
            "The last batch the settlement contract holds",
            m.settled_batch.clone(),
        );
        registry.register(
            "sable_l1_submitted",
            "Batches this validator submitted to L1",
            m.settlement_submitted.clone(),
        );
        registry.register(
            "sable_l1_errors",
            "Settlement rounds that failed",
            m.settlement_errors.clone(),
        );
        registry.register(
            "sable_l1_inclusion_seconds",
            "Last block's timestamp to the batch's L1 inclusion",
            m.settlement_inclusion.clone(),
        );
        registry.register(
            "sable_l1_deposits_stored",
            "Bridge deposits stored from final L1 blocks",
            m.l1_deposits_stored.clone(),
        );
        registry.register(
            "sable_l1_deposit_corrections",
            "Unminted deposit records an L1 reorg replaced or removed",
            m.l1_deposit_corrections.clone(),
        );
        registry.register(
            "sable_l1_minted_deposits_reorged",
            "Minted deposits whose L1 deposit a reorg changed or removed (must stay 0)",
            m.l1_minted_deposits_reorged.clone(),
        );
        registry.register(
            "sable_l1_reorgs",
            "L1 reorgs the bridge watcher noticed beneath blocks it read",
            m.l1_reorgs.clone(),
        );
        registry.register(
            "sable_l1_watch_errors",
            "Bridge watcher rounds that failed",
            m.l1_watch_errors.clone(),
        );
        m
    }
}

struct Global {
    registry: parking_lot::Mutex<Registry>,
    metrics: Metrics,
}

fn global() -> &'static Global {
    static G: OnceLock<Global> = OnceLock::new();
    G.get_or_init(|| {
        let mut registry = Registry::default();
        let metrics = Metrics::new(&mut registry);
        Global {
            registry: parking_lot::Mutex::new(registry),
            metrics,
        }
    })
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &global().metrics
}

/// Records each verified batch in the node's metrics (`sable_verified_actions`, the
/// proof-verification histogram).
#[derive(Clone, Copy, Debug, Default)]
pub struct VerificationMetrics;

impl sable_execution::BatchObserver for VerificationMetrics {
    fn batch_verified(&self, actions: usize, took: Duration) {
        let m = metrics();
        m.verified_actions.inc_by(actions as u64);
        m.proof_verification.observe(took.as_secs_f64());
    }
}

/// The Prometheus text exposition of the node's metrics, followed by `extra`
/// (the consensus engine's own registry).
pub fn encode_metrics(extra: &str) -> String {
    let mut out = String::new();
    if encode(&mut out, &global().registry.lock()).is_err() {
        out.clear();
    }
    // The node registry ends with "# EOF"; the engine's lines go before it.
    let body = out.trim_end().trim_end_matches("# EOF").to_string();
    format!("{body}{extra}\n# EOF\n")
}

/// Serves `GET /metrics` on `listener` (bound by the caller, so a port that is taken
/// fails the node's start rather than leaving it running without metrics) until the
/// process ends.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    extra: Arc<dyn Fn() -> String + Send + Sync>,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let extra = extra.clone();
            async move { encode_metrics(&extra()) }
        }),
    );
    axum::serve(listener, app).await
}

/// Tracing configuration.
#[derive(Clone, Debug, Default)]
pub struct TracingConfig {
    /// Log filter (`RUST_LOG` syntax); default `info`.
    pub filter: Option<String>,
    /// OTLP/HTTP endpoint (e.g. `http://127.0.0.1:4318/v1/traces`); `None` disables export.
    pub otlp_endpoint: Option<String>,
    /// Service name reported to the collector.
    pub service_name: String,
}

/// Installs the global subscriber: formatted logs, plus OTLP export when configured.
/// Returns the tracer provider to flush at shutdown.
pub fn init_tracing(
    cfg: &TracingConfig,
) -> Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>, String> {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer};
    // The OTLP exporter's HTTP client (reqwest's rustls, built without a provider of its
    // own) takes the process's default provider: ring, the only one Sable builds.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let filter = || EnvFilter::new(cfg.filter.clone().unwrap_or_else(|| "info".into()));
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(true)
        .with_filter(filter());
    let (otel, provider) = match &cfg.otlp_endpoint {
        None => (None, None),
        Some(endpoint) => {
            use opentelemetry::trace::TracerProvider as _;
            use opentelemetry_otlp::WithExportConfig as _;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_endpoint(endpoint.clone())
                .with_timeout(Duration::from_secs(5))
                .build()
                .map_err(|e| format!("OTLP exporter: {e}"))?;
            let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder_empty()
                        .with_service_name(cfg.service_name.clone())
                        .build(),
                )
                .build();
            let tracer = provider.tracer(cfg.service_name.clone());
            (
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(filter()),
                ),
                Some(provider),
            )
        }
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| format!("tracing already initialised: {e}"))?;
    Ok(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_encode_with_engine_lines() {
        metrics().admitted.inc();
        metrics()
            .rejected
            .get_or_create(&ReasonLabel {
                reason: "spent_nullifier".into(),
            })
            .inc();
        let text = encode_metrics("engine_x 1\n");
        assert!(text.contains("sable_admitted_total"));
        assert!(text.contains("reason=\"spent_nullifier\""));
        assert!(text.contains("engine_x 1"));
        assert!(text.trim_end().ends_with("# EOF"));
    }
}

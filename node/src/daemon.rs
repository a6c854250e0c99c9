//! Running a node: open the state, start consensus (validators), the gRPC API and the
//! metrics endpoint, and stop cleanly on SIGINT/SIGTERM.

use std::{path::PathBuf, sync::Arc, time::Duration};

use commonware_runtime::{
    tokio as cw_tokio, Metrics as _, Runner as _, Spawner as _, Supervisor as _,
};
use sable_circuits::{circuit::VerifyingKey, keys::RegulatorPublicKey, transaction::ChainId};

use crate::{
    config::NodeConfig,
    consensus::{self, ConsensusConfig, Peer},
    mempool::MempoolLimits,
    node::Node,
    rpc,
    settlement::{SettlementHandle, Settler},
    telemetry,
};
use sable_execution::{ChainParams, CompliancePolicy, Verifier};
use sable_pki::{load_certificate_pem, load_key_seed, CertificateAuthority, Role, TlsPurpose};
use sable_primitives::params::Governance;
use sable_storage::Store;

/// Why a node could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Identity.
    #[error(transparent)]
    Pki(#[from] sable_pki::PkiError),
    /// The certificate does not match the configured role or id.
    #[error("certificate {cert} names {found}, configuration expects {expected}")]
    Identity {
        /// Certificate.
        cert: PathBuf,
        /// Found identity.
        found: String,
        /// Expected identity.
        expected: String,
    },
    /// State.
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    /// Storage.
    #[error(transparent)]
    Storage(#[from] sable_storage::StorageError),
    /// Consensus.
    #[error(transparent)]
    Consensus(#[from] crate::consensus::ConsensusError),
    /// Settlement.
    #[error(transparent)]
    Settlement(#[from] crate::settlement::SettleError),
    /// A settled batch that does not check out (`verify-l1`).
    #[error(transparent)]
    Verify(#[from] crate::settlement::verify::VerifyError),
    /// A port the node serves on is taken or not bindable.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// What it is for (`metrics`, `p2p`).
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The gRPC API (its port names itself: `cannot listen on ADDR (gRPC)`).
    #[error(transparent)]
    Rpc(#[from] crate::rpc::RpcError),
    /// Bad value.
    #[error("{0}")]
    Invalid(String),
    /// A component stopped unexpectedly.
    #[error("{0} stopped")]
    Stopped(&'static str),
    /// The node cannot execute what the chain finalized.
    #[error("halted: {0}")]
    Halted(String),
}

/// Validator peers from the configuration: each certificate must be a validator
/// certificate of the consortium, for the id configured.
pub fn validator_peers(
    cfg: &NodeConfig,
    ca: &CertificateAuthority,
) -> Result<Vec<Peer>, DaemonError> {
    cfg.validators
        .iter()
        .map(|v| {
            let who = ca.verify(&load_certificate_pem(&v.cert)?)?;
            if who.role != Role::Validator || who.participant != v.id {
                return Err(DaemonError::Identity {
                    cert: v.cert.clone(),
                    found: who.to_string(),
                    expected: format!("validator:{}", v.id),
                });
            }
            Ok(Peer {
                // The p2p identity is commonware's Ed25519 key.
                public_key: who.public_key.ed25519()?,
                fingerprint: who.fingerprint,
                not_after: who.not_after,
                address: v.p2p,
            })
        })
        .collect()
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The governing operators' certificate fingerprints: each an operator certificate
/// of the consortium.
fn governing_operators(
    cfg: &NodeConfig,
    ca: &CertificateAuthority,
) -> Result<Vec<sable_pki::Fingerprint>, DaemonError> {
    cfg.governance
        .operators
        .iter()
        .map(|path| {
            let who = ca.verify(&load_certificate_pem(path)?)?;
            if who.role != Role::Operator {
                return Err(DaemonError::Identity {
                    cert: path.clone(),
                    found: who.to_string(),
                    expected: "an operator".into(),
                });
            }
            Ok(who.fingerprint)
        })
        .collect()
}

/// The chain's public parameters (its genesis) from a node configuration.
pub fn chain_params(
    cfg: &NodeConfig,
    ca: &CertificateAuthority,
) -> Result<Arc<ChainParams>, DaemonError> {
    let mut reg = [0u8; 32];
    hex::decode_to_slice(&cfg.chain.regulator_public_key, &mut reg)
        .map_err(|e| DaemonError::Invalid(format!("regulator key: {e}")))?;
    let regulator = RegulatorPublicKey::from_bytes(&reg)
        .map_err(|e| DaemonError::Invalid(format!("regulator key: {e}")))?;
    let invalid = |e: sable_primitives::params::ParamsError| DaemonError::Invalid(e.to_string());
    let governance = Governance::new(cfg.governance.threshold, governing_operators(cfg, ca)?)
        .map_err(invalid)?;
    let params = ChainParams {
        chain: ChainId::from_namespace(&cfg.chain.namespace),
        regulator,
        ca: ca.clone(),
        registry_root_window: cfg.chain.registry_root_window,
        validators: validator_peers(cfg, ca)?
            .iter()
            .map(|p| p.fingerprint)
            .collect(),
        governance,
    };
    params.check().map_err(invalid)?;
    Ok(Arc::new(params))
}

/// Where `verify-l1` reads L1.
#[derive(Clone, Debug)]
pub struct L1Source {
    /// The Ethereum JSON-RPC endpoint.
    pub rpc: String,
    /// The settlement contract (`0x…`).
    pub contract: String,
    /// The L1 block the contracts were deployed in (logs are read from there on).
    pub from_block: u64,
    /// The most L1 blocks one log query spans.
    pub log_page: u64,
    /// Where blob contents are read from.
    pub blobs: sable_l1::BlobSource,
}

/// `verify-l1`: rebuilds every batch the settlement contract at `l1` holds from L1 data
/// alone and checks it against the chain `cfg` describes (its genesis, CA and regulator
/// key), on a scratch store in a fresh temporary directory.
pub fn verify_l1(
    cfg: &NodeConfig,
    l1: &L1Source,
    policy: Arc<dyn CompliancePolicy>,
) -> Result<crate::settlement::verify::VerifyReport, DaemonError> {
    let ca = CertificateAuthority::load(&cfg.tls.ca)?;
    let params = chain_params(cfg, &ca)?;
    let contract: alloy::primitives::Address = l1
        .contract
        .parse()
        .map_err(|e| DaemonError::Invalid(format!("contract address: {e}")))?;
    if l1.log_page == 0 {
        return Err(DaemonError::Invalid("--log-page must be positive".into()));
    }
    if matches!(
        l1.blobs,
        sable_l1::BlobSource::Beacon {
            seconds_per_slot: 0,
            ..
        }
    ) {
        return Err(DaemonError::Invalid(
            "--seconds-per-slot must be positive".into(),
        ));
    }
    let key = sable_l1::SettlementKey::random();
    let config = sable_l1::L1Config {
        // Settled batches are read up to the head, so the deposits they claim are too.
        finality: sable_l1::Finality::Depth(1),
        from_block: l1.from_block,
        log_page: l1.log_page,
        blobs: l1.blobs.clone(),
        ..Default::default()
    };
    let client = sable_l1::L1Provider::connect(&l1.rpc, &key, contract, Default::default(), config)
        .map_err(crate::settlement::SettleError::from)?;
    // A fresh private directory (random name, mode 0700), removed when dropped: never a
    // predictable path another user could have prepared.
    let scratch = tempfile::Builder::new()
        .prefix("sable-verify-l1-")
        .tempdir()
        .map_err(|e| DaemonError::Invalid(format!("scratch directory: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DaemonError::Invalid(format!("runtime: {e}")))?;
    let genesis = crate::settlement::genesis_hash(&cfg.chain.namespace);
    let result = runtime.block_on(async {
        let vk = tokio::task::spawn_blocking(VerifyingKey::build)
            .await
            .map_err(|e| DaemonError::Invalid(format!("verifying key: {e}")))?;
        let verifier = Verifier::start(
            Arc::new(vk),
            0,
            usize::MAX,
            Arc::new(telemetry::VerificationMetrics),
        );
        crate::settlement::verify::verify_l1(
            &client,
            params,
            policy,
            &verifier,
            genesis,
            scratch.path(),
        )
        .await
        .map_err(DaemonError::from)
    });
    drop(scratch);
    result
}

/// Resolves when the settlement service stops (never, when there is none).
async fn settlement_stopped(handle: &mut Option<SettlementHandle>) {
    match handle {
        Some(h) => {
            tokio::select! {
                _ = &mut h.task => {},
                _ = &mut h.watcher => {},
                _ = &mut h.receiver => {},
            }
        }
        None => std::future::pending().await,
    }
}

/// Runs a node until SIGINT/SIGTERM (blocking; builds its own runtime).
pub fn run(cfg: NodeConfig, policy: Arc<dyn CompliancePolicy>) -> Result<(), DaemonError> {
    let tracer = telemetry::init_tracing(&telemetry::TracingConfig {
        filter: cfg.telemetry.log.clone(),
        otlp_endpoint: cfg.telemetry.otlp_endpoint.clone(),
        service_name: format!("sable-node/{}", cfg.node.id),
    })
    .map_err(DaemonError::Invalid)?;
    let runtime_threads = match cfg.node.runtime_threads {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let runtime = cw_tokio::Config::new()
        .with_worker_threads(runtime_threads)
        .with_storage_directory(cfg.node.data_dir.join("consensus"));
    let result = cw_tokio::Runner::new(runtime).start(|context| async move {
        let ca = CertificateAuthority::load(&cfg.tls.ca)?;
        let me = ca.verify(&load_certificate_pem(&cfg.tls.cert)?)?;
        if me.participant != cfg.node.id {
            return Err(DaemonError::Identity {
                cert: cfg.tls.cert.clone(),
                found: me.to_string(),
                expected: cfg.node.id.clone(),
            });
        }
        if let Some(server_cert) = &cfg.tls.server_cert {
            // The API's certificate is this validator's, issued for a TLS server:
            // clients refuse anything else.
            let api = ca.verify_tls(&load_certificate_pem(server_cert)?, TlsPurpose::Server)?;
            if (api.role, &api.participant) != (me.role, &me.participant) {
                return Err(DaemonError::Identity {
                    cert: server_cert.clone(),
                    found: api.to_string(),
                    expected: me.to_string(),
                });
            }
        }
        let params = chain_params(&cfg, &ca)?;
        tracing::info!(
            namespace = %cfg.chain.namespace,
            genesis = %hex::encode(params.genesis_digest()),
            "chain parameters"
        );
        tracing::info!(node = %me, "building the verifying key");
        let vk = tokio::task::spawn_blocking(VerifyingKey::build)
            .await
            .map_err(|e| DaemonError::Invalid(format!("verifying key: {e}")))?;
        let store = Arc::new(Store::open(&cfg.node.data_dir.join("state"))?);
        store.check_invariants()?;
        let node = Node::new(
            store,
            params,
            policy,
            Verifier::start(
                Arc::new(vk),
                cfg.node.verifier_threads,
                cfg.node.verify_batch_max,
                Arc::new(telemetry::VerificationMetrics),
            ),
            MempoolLimits::default(),
        )?;
        node.start_preverifier(
            std::time::Duration::from_millis(cfg.node.verify_window_ms),
            cfg.node.verify_batch_max,
        );
        tracing::info!(height = node.executed_height(), "state opened");

        let metrics_ctx = Arc::new(context.child("metrics"));
        let metrics_addr = cfg.network.metrics;
        let metrics = tokio::net::TcpListener::bind(metrics_addr)
            .await
            .map_err(|source| DaemonError::Listen {
                addr: metrics_addr,
                what: "metrics",
                source,
            })?;
        let metrics_task = tokio::spawn(async move {
            let extra = Arc::new(move || metrics_ctx.encode());
            if let Err(e) = telemetry::serve_metrics(metrics, extra).await {
                tracing::error!(%e, "metrics endpoint failed");
            }
        });

        if cfg.settlement.is_some() && !cfg.is_validator() {
            return Err(DaemonError::Invalid(
                "[settlement] is for validators only".into(),
            ));
        }
        let consensus = if cfg.is_validator() {
            let peers = validator_peers(&cfg, &ca)?;
            // The p2p layer binds its port on a task of its own and cannot report a
            // failure; a port found taken here stops the start with its address.
            std::net::TcpListener::bind(cfg.network.p2p).map_err(|source| {
                DaemonError::Listen {
                    addr: cfg.network.p2p,
                    what: "p2p",
                    source,
                }
            })?;
            let ccfg = ConsensusConfig {
                namespace: cfg.chain.namespace.as_bytes().to_vec(),
                seed: load_key_seed(&cfg.tls.key)?,
                validators: peers,
                p2p_listen: cfg.network.p2p,
                empty_block_interval: Duration::from_millis(cfg.chain.empty_block_interval_ms),
                ..ConsensusConfig::default()
            };
            let settler = cfg
                .settlement
                .as_ref()
                .map(|s| Settler::new(node.clone(), s, &cfg.chain.namespace))
                .transpose()?;
            let (p2p, network) =
                consensus::lookup_p2p(context.child("consensus"), &ccfg, settler.is_some())?;
            let running =
                consensus::start(context.child("consensus"), node.clone(), ccfg, p2p, settler)
                    .await?;
            Some((running, network))
        } else {
            None
        };
        let status = consensus
            .as_ref()
            .map(|(c, _)| c.liveness.clone() as Arc<dyn crate::liveness::StatusSource>);
        let rpc_task = start_rpc(&cfg, node.clone(), ca.clone(), status).await?;
        tracing::info!(rpc = %cfg.network.rpc, p2p = %cfg.network.p2p, metrics = %cfg.network.metrics, "node running");
        let mut servers = Servers {
            rpc: rpc_task,
            metrics: metrics_task,
        };

        let outcome = match consensus {
            Some((mut c, network)) => tokio::select! {
                _ = settlement_stopped(&mut c.settlement) => Err(DaemonError::Stopped("settlement service")),
                stopped = servers.stopped() => Err(stopped),
                _ = shutdown_signal() => Ok(()),
                _ = c.engine => Err(DaemonError::Stopped("consensus engine")),
                _ = c.marshal => Err(DaemonError::Stopped("block delivery")),
                _ = network => Err(DaemonError::Stopped("p2p network")),
                _ = c.broadcast => Err(DaemonError::Stopped("block broadcast")),
                reason = node.until_halted() => Err(DaemonError::Halted(reason.to_string())),
            },
            None => tokio::select! {
                stopped = servers.stopped() => Err(stopped),
                _ = shutdown_signal() => Ok(()),
                reason = node.until_halted() => Err(DaemonError::Halted(reason.to_string())),
            },
        };
        tracing::info!("shutting down");
        let _ = context.stop(0, Some(Duration::from_secs(5))).await;
        outcome
    });
    if let Some(provider) = tracer {
        let _ = provider.shutdown();
    }
    result
}

/// The servers a node runs beside consensus: when one of them ends, the node stops
/// with its name (review L8) rather than running on with a dead port.
struct Servers {
    rpc: tokio::task::JoinHandle<()>,
    metrics: tokio::task::JoinHandle<()>,
}

impl Servers {
    /// Resolves when either server's task ends (it logged why), with the error the
    /// node stops with.
    async fn stopped(&mut self) -> DaemonError {
        tokio::select! {
            _ = &mut self.rpc => DaemonError::Stopped("gRPC API"),
            _ = &mut self.metrics => DaemonError::Stopped("metrics endpoint"),
        }
    }
}

/// Binds `cfg.network.rpc` (failing at once if it cannot) and serves the API on a task
/// of its own, which ends only if the server fails. A validator reports its live peers
/// from consensus gossip; an observer reports none.
async fn start_rpc(
    cfg: &NodeConfig,
    node: Arc<Node>,
    ca: CertificateAuthority,
    status: Option<Arc<dyn crate::liveness::StatusSource>>,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let listener = tokio::net::TcpListener::bind(cfg.network.rpc)
        .await
        .map_err(|source| rpc::RpcError::Bind {
            addr: cfg.network.rpc,
            source,
        })?;
    let (server_cert, server_key) = cfg.tls.server_identity();
    let rpc_cfg = rpc::RpcConfig {
        status: status.unwrap_or_else(|| {
            Arc::new(crate::liveness::StaticStatus {
                validators: cfg.validators.len() as u32,
                connected_peers: 0,
            })
        }),
        compliance_records: Some(cfg.node.data_dir.join("compliance")),
        ..rpc::RpcConfig::new(
            cfg.network.rpc,
            server_cert.to_path_buf(),
            server_key.to_path_buf(),
            ca,
        )
    };
    Ok(tokio::spawn(async move {
        match rpc::serve_on(node, rpc_cfg, listener, std::future::pending()).await {
            Err(e) => tracing::error!(%e, "gRPC API stopped"),
            Ok(()) => tracing::error!("gRPC API stopped"),
        }
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_server_that_ends_stops_the_node_with_its_name() {
        for (rpc_ends, name) in [(true, "gRPC API"), (false, "metrics endpoint")] {
            let ends = || tokio::spawn(async {});
            let runs = || tokio::spawn(std::future::pending::<()>());
            let mut servers = if rpc_ends {
                Servers {
                    rpc: ends(),
                    metrics: runs(),
                }
            } else {
                Servers {
                    rpc: runs(),
                    metrics: ends(),
                }
            };
            let stopped = tokio::time::timeout(Duration::from_secs(10), servers.stopped())
                .await
                .unwrap();
            assert!(
                matches!(stopped, DaemonError::Stopped(n) if n == name),
                "{stopped}"
            );
        }
        // While both run, nothing stops.
        let mut servers = Servers {
            rpc: tokio::spawn(std::future::pending::<()>()),
            metrics: tokio::spawn(std::future::pending::<()>()),
        };
        assert!(
            tokio::time::timeout(Duration::from_millis(100), servers.stopped())
                .await
                .is_err()
        );
    }
}

//! Starts the gRPC API for the daemon (kept apart so the daemon reads top to bottom).
//! A validator reports its live peers from consensus gossip; an observer reports none.

use std::sync::Arc;

use crate::{
    config::NodeConfig,
    daemon::DaemonError,
    node::Node,
    pki::CertificateAuthority,
    rpc::{self, RpcConfig, StaticStatus, StatusSource},
};

/// Binds `cfg.network.rpc` (failing at once if it cannot) and serves the API in the
/// background for the life of the process.
pub async fn start(
    cfg: &NodeConfig,
    node: Arc<Node>,
    ca: CertificateAuthority,
    status: Option<Arc<dyn StatusSource>>,
) -> Result<(), DaemonError> {
    let listener = tokio::net::TcpListener::bind(cfg.network.rpc)
        .await
        .map_err(|e| {
            DaemonError::Invalid(format!("cannot listen on {} (gRPC): {e}", cfg.network.rpc))
        })?;
    let rpc_cfg = RpcConfig {
        status: status.unwrap_or_else(|| {
            Arc::new(StaticStatus {
                validators: cfg.validators.len() as u32,
                connected_peers: 0,
            })
        }),
        ..RpcConfig::new(
            cfg.network.rpc,
            cfg.tls.cert.clone(),
            cfg.tls.key.clone(),
            ca,
        )
    };
    tokio::spawn(async move {
        if let Err(e) = rpc::serve_on(node, rpc_cfg, listener, std::future::pending()).await {
            tracing::error!(%e, "gRPC API stopped");
        }
    });
    Ok(())
}

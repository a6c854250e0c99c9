//! Starts the gRPC API for the daemon (kept apart so the daemon reads top to bottom).

use std::sync::Arc;

use crate::{config::NodeConfig, daemon::DaemonError, node::Node, pki::CertificateAuthority};

/// Starts serving the API on `cfg.network.rpc` in the background.
pub async fn start(
    _cfg: &NodeConfig,
    _node: Arc<Node>,
    _ca: CertificateAuthority,
) -> Result<(), DaemonError> {
    tracing::warn!("the gRPC API is not wired in yet");
    Ok(())
}

//! The gRPC API over mutual TLS: the `sable.v1` services (`Transactions`, `Chain`,
//! `Admin`, `Compliance`), gRPC health and reflection, all on one TLS port.
//!
//! Owns: the TLS accept loop and the identity of each connection ([`tls`]), the role
//! gate in front of every service ([`auth`]), the service implementations
//! (`transactions`, `chain`, `admin`) that translate between the wire contract of
//! `sable-proto` and [`Node`], and the client helpers ([`connect`]).
//!
//! Must never: answer a request whose connection did not present a certificate issued by
//! the consortium CA, whose certificate is revoked, or whose role the service does not
//! admit; open a plaintext port; or panic on input from the network. Every bad request
//! gets a typed [`tonic::Status`] with a clear message.
//!
//! # Roles
//! | service | roles |
//! |---|---|
//! | `sable.v1.Transactions` | bank |
//! | `sable.v1.Chain` | bank, regulator, auditor, operator, validator |
//! | `sable.v1.Admin` | operator |
//! | `sable.v1.Compliance` | regulator, auditor, bank (a package is checked for the party it names: the caller) |
//! | `grpc.health.v1.Health`, `grpc.reflection.v1.ServerReflection` (and `v1alpha`, which stock grpcio clients ask) | any role |
//!
//! TLS requires a client certificate at the handshake (a client without one never gets
//! an HTTP/2 session) and checks that the client holds the certificate's key (TLS 1.3
//! `CertificateVerify`, Ed25519, ECDSA or RSA). The consortium CA check happens once
//! per connection and the revocation and role checks on every request, so a caller
//! with a foreign, expired or revoked certificate gets `UNAUTHENTICATED` or
//! `PERMISSION_DENIED` instead of an opaque handshake failure, and every refusal is
//! logged.
//!
//! The port presents a validator's API server certificate (P-256, `serverAuth`; see
//! `sable-pki`), which clients check names a validator.
//!
//! # Example
//! ```no_run
//! # async fn run(node: std::sync::Arc<sable_node::node::Node>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use sable_node::rpc;
//! use sable_pki::CertificateAuthority;
//!
//! let ca = CertificateAuthority::load(Path::new("pki/ca.pem"))?;
//! let cfg = rpc::RpcConfig::new(
//!     "0.0.0.0:50051".parse()?,
//!     "pki/validator-0-server.pem".into(),
//!     "pki/validator-0-server.key".into(),
//!     ca,
//! );
//! rpc::serve(node, cfg, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```

mod admin;
pub mod auth;
mod chain;
mod compliance;
// Public only for the decoders' fuzzer (`sable-fuzz`): the requests' conversions.
#[doc(hidden)]
pub mod convert;
pub mod limits;
pub mod tls;
mod transactions;

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use sable_proto::v1::{
    admin_server::AdminServer, chain_server::ChainServer, compliance_server::ComplianceServer,
    transactions_server::TransactionsServer,
};
use tokio::net::TcpListener;
use tonic::{service::interceptor::InterceptedService, transport::Server};

use crate::{
    liveness::{StaticStatus, StatusSource},
    node::Node,
};
use sable_pki::{CertificateAuthority, PkiError};
use sable_primitives::block::{MAX_ADMIN_BYTES, MAX_TX_BYTES};

pub use auth::{
    RoleGate, ADMIN_ROLES, ANY_ROLE, CHAIN_ROLES, COMPLIANCE_ROLES, TRANSACTIONS_ROLES,
};
pub use tls::{PeerAuthError, PeerIdentity, PeerInfo};

/// `sable.v1.Transactions`.
pub const TRANSACTIONS: &str = sable_proto::v1::transactions_server::SERVICE_NAME;
/// `sable.v1.Chain`.
pub const CHAIN: &str = sable_proto::v1::chain_server::SERVICE_NAME;
/// `sable.v1.Admin`.
pub const ADMIN: &str = sable_proto::v1::admin_server::SERVICE_NAME;
/// `sable.v1.Compliance`.
pub const COMPLIANCE: &str = sable_proto::v1::compliance_server::SERVICE_NAME;
/// `grpc.health.v1.Health`.
pub const HEALTH: &str = tonic_health::pb::health_server::SERVICE_NAME;
/// `grpc.reflection.v1.ServerReflection`.
pub const REFLECTION: &str = tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME;
/// `grpc.reflection.v1alpha.ServerReflection`: the same service under the name stock
/// grpcio clients (Python's `grpc_reflection`, grpcurl's fallback) still ask for.
pub const REFLECTION_V1ALPHA: &str =
    tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME;

/// Protobuf framing allowance above the largest payload a request may carry.
const FRAMING_SLACK: usize = 1024;
/// Largest `Transactions` request: one transaction at the node's limit plus framing, so
/// a transaction a little over the limit still reaches admission and is refused there
/// as `TOO_LARGE`, and anything far larger is cut off by the decoder (`OUT_OF_RANGE`).
pub const MAX_TRANSACTIONS_REQUEST: usize = MAX_TX_BYTES + FRAMING_SLACK;
/// Largest `Admin` request (one signed operator command plus framing).
pub const MAX_ADMIN_REQUEST: usize = MAX_ADMIN_BYTES + FRAMING_SLACK;
/// Largest `Chain`, health or reflection request (heights, hashes, addresses, names).
pub const MAX_QUERY_REQUEST: usize = 4 * 1024;
/// Largest `Compliance` request: one package (a proof of holdings, in hex, with its
/// addressing, is under 14 KiB).
pub const MAX_COMPLIANCE_REQUEST: usize = 64 * 1024;

/// How to serve the API.
#[derive(Clone)]
pub struct RpcConfig {
    /// Address of the TLS port.
    pub listen: SocketAddr,
    /// The node's certificate (PEM; issued by the consortium CA).
    pub cert: PathBuf,
    /// The node's private key (PKCS#8 PEM).
    pub key: PathBuf,
    /// The consortium CA every client certificate must chain to.
    pub ca: CertificateAuthority,
    /// Consensus figures for `Chain.GetStatus`.
    pub status: Arc<dyn StatusSource>,
    /// Where `sable.v1.Compliance` keeps the record of what each party accepted (the
    /// service is not served without one).
    pub compliance_records: Option<PathBuf>,
}

impl std::fmt::Debug for RpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcConfig")
            .field("listen", &self.listen)
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl RpcConfig {
    /// A configuration reporting no validators or peers (set [`RpcConfig::status`] to
    /// report consensus).
    pub fn new(listen: SocketAddr, cert: PathBuf, key: PathBuf, ca: CertificateAuthority) -> Self {
        RpcConfig {
            listen,
            cert,
            key,
            ca,
            status: Arc::new(StaticStatus::default()),
            compliance_records: None,
        }
    }
}

/// API server and client errors.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The node's own certificate is not a valid consortium certificate.
    #[error("the node's certificate is not usable: {0}")]
    Identity(#[from] PkiError),
    /// The TLS configuration was refused.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr} (gRPC): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The reflection service could not be built.
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server or a client connection failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The compliance service's record directory could not be made.
    #[error("the compliance records: {0}")]
    Compliance(String),
    /// The address is not a valid endpoint.
    #[error("invalid endpoint {0:?}")]
    Endpoint(String),
}

/// Binds `cfg.listen` and serves until `shutdown` completes, then drains open calls.
pub async fn serve(
    node: Arc<Node>,
    cfg: RpcConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RpcError> {
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| RpcError::Bind {
            addr: cfg.listen,
            source,
        })?;
    serve_on(node, cfg, listener, shutdown).await
}

/// [`serve`] on an already bound listener (`cfg.listen` is ignored); lets a caller bind
/// port 0 and learn the port first.
pub async fn serve_on(
    node: Arc<Node>,
    cfg: RpcConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RpcError> {
    let ca = Arc::new(cfg.ca.clone());
    let server_config = tls::server_config(&cfg.cert, &cfg.key, &ca)?;
    let own = ca.verify(&sable_pki::load_certificate_pem(&cfg.cert)?)?;
    let local = listener.local_addr().ok();
    let incoming = tls::incoming(listener, server_config, ca);

    // Open streams (blocks, statuses) would hold the drain open forever: they end when
    // the shutdown signal fires.
    let (stopping, stop) = convert::Stop::new();
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let transactions = transactions::TransactionsService::new(node.clone(), stop.clone());
    let chain = chain::ChainService::new(node.clone(), own.participant.clone(), cfg.status, stop);
    let admin = admin::AdminService::new(node.clone());
    let compliance = match &cfg.compliance_records {
        Some(dir) => {
            let desk = sable_compliance::desk::VerificationDesk::new(dir)
                .map_err(|e| RpcError::Compliance(e.to_string()))?;
            Some(
                ComplianceServer::new(compliance::ComplianceService::new(
                    node.clone(),
                    Arc::new(desk),
                ))
                .max_decoding_message_size(MAX_COMPLIANCE_REQUEST),
            )
        }
        None => None,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(sable_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder().build_v1()?;
    let reflection_v1alpha = reflection_builder().build_v1alpha()?;

    let transactions =
        TransactionsServer::new(transactions).max_decoding_message_size(MAX_TRANSACTIONS_REQUEST);
    let chain = ChainServer::new(chain).max_decoding_message_size(MAX_QUERY_REQUEST);
    let admin = AdminServer::new(admin).max_decoding_message_size(MAX_ADMIN_REQUEST);
    let health_service = health_service.max_decoding_message_size(MAX_QUERY_REQUEST);
    let reflection = reflection.max_decoding_message_size(MAX_QUERY_REQUEST);
    let reflection_v1alpha = reflection_v1alpha.max_decoding_message_size(MAX_QUERY_REQUEST);
    for name in [TRANSACTIONS, CHAIN, ADMIN] {
        health
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    // A node that halted (it cannot execute) serves a frozen state: say so.
    {
        let node = node.clone();
        tokio::spawn(async move {
            let reason = node.until_halted().await;
            for name in ["", TRANSACTIONS, CHAIN, ADMIN] {
                health
                    .set_service_status(name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            tracing::error!(%reason, "health: NOT_SERVING");
        });
    }

    let gate = |service, roles| RoleGate::new(node.clone(), service, roles);
    let router = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .concurrency_limit_per_connection(256)
        .add_service(InterceptedService::new(
            transactions,
            gate(TRANSACTIONS, TRANSACTIONS_ROLES),
        ))
        .add_service(InterceptedService::new(chain, gate(CHAIN, CHAIN_ROLES)))
        .add_service(InterceptedService::new(admin, gate(ADMIN, ADMIN_ROLES)))
        .add_optional_service(
            compliance.map(|c| InterceptedService::new(c, gate(COMPLIANCE, COMPLIANCE_ROLES))),
        )
        .add_service(InterceptedService::new(
            health_service,
            gate(HEALTH, ANY_ROLE),
        ))
        .add_service(InterceptedService::new(
            reflection,
            gate(REFLECTION, ANY_ROLE),
        ))
        .add_service(InterceptedService::new(
            reflection_v1alpha,
            gate(REFLECTION_V1ALPHA, ANY_ROLE),
        ));
    tracing::info!(addr = ?local, identity = %own, "serving the gRPC API over mutual TLS");
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    tracing::info!(addr = ?local, "gRPC API stopped");
    Ok(())
}

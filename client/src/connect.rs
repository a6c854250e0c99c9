//! A mutual-TLS channel to a node's API.
//!
//! The node's API has no plaintext port: a channel is TLS, checks the node's
//! certificate against the consortium CA, and presents the caller's own certificate,
//! whose role the node checks on every call.

use std::path::Path;

use tonic::transport::{Certificate, Channel, ClientTlsConfig};

/// Why a channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// A certificate, key or CA file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The private key file is refused (others can read it, say).
    #[error(transparent)]
    Key(#[from] sable_pki::PkiError),
    /// The address is not a valid endpoint (the API has no plaintext port, so only
    /// `host:port` and `https://host:port` are).
    #[error("invalid endpoint {0:?}")]
    Endpoint(String),
    /// The TLS handshake or the connection failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

fn read_file(path: &Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn endpoint(addr: &str) -> Result<tonic::transport::Endpoint, ConnectError> {
    let uri = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("https://{addr}")
    };
    if !uri.starts_with("https://") {
        // The API has no plaintext port; a plaintext client would only hang up.
        return Err(ConnectError::Endpoint(addr.to_string()));
    }
    Channel::from_shared(uri).map_err(|_| ConnectError::Endpoint(addr.to_string()))
}

fn client_tls(ca_pem: &Path) -> Result<ClientTlsConfig, ConnectError> {
    Ok(ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read_file(ca_pem)?))
        .domain_name("localhost"))
}

/// Connects to a node's API at `addr` (`host:port` or `https://host:port`) as the holder
/// of `cert_path`/`key_path`, checking the node's certificate against the CA in
/// `ca_pem_path` (server name `localhost`, as the development PKI issues it).
pub async fn connect(
    addr: &str,
    ca_pem_path: &Path,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Channel, ConnectError> {
    let identity = tonic::transport::Identity::from_pem(
        read_file(cert_path)?,
        sable_pki::read_secret(key_path)?,
    );
    let tls = client_tls(ca_pem_path)?.identity(identity);
    Ok(endpoint(addr)?.tls_config(tls)?.connect().await?)
}

/// Connects without a client certificate (every call is refused with
/// `UNAUTHENTICATED`; for tests and diagnostics).
pub async fn connect_without_identity(
    addr: &str,
    ca_pem_path: &Path,
) -> Result<Channel, ConnectError> {
    let tls = client_tls(ca_pem_path)?;
    Ok(endpoint(addr)?.tls_config(tls)?.connect().await?)
}

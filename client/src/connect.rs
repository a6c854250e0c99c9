//! A mutual-TLS channel to a node's API.
//!
//! The node's API has no plaintext port: a channel is TLS 1.3, presents the caller's
//! own certificate (whose role the node checks on every call), and authenticates the
//! node: its certificate must be issued by the consortium CA, for a TLS server
//! (`serverAuth`), and name the *validator* role
//! ([`sable_pki::CertificateAuthority::verify_validator_server`]), and, when the caller
//! names one, the validator it expects ([`connect_to_validator`]). The role in the
//! certificate, not a host name, is what makes a server a node: a bank's certificate,
//! even one a careless CA issued for servers, is refused with
//! [`ConnectError::UntrustedServer`] before any call is made.

use std::{
    future::Future,
    io,
    path::Path,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use hyper_util::rt::TokioIo;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName, UnixTime},
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme,
};
use sable_pki::{CertificateAuthority, PkiError};
use tokio::net::TcpStream;
use tonic::transport::{Channel, Uri};

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
    /// A key or certificate file is refused (others can read the key, not PEM, …).
    #[error(transparent)]
    Key(#[from] sable_pki::PkiError),
    /// The address is not a valid endpoint (the API has no plaintext port, so only
    /// `host:port` and `https://host:port` are).
    #[error("invalid endpoint {0:?}")]
    Endpoint(String),
    /// The client's TLS configuration was refused (an unusable certificate or key).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The server is not a validator of the consortium (or not the one expected).
    #[error("the server at {addr} is not a trusted validator: {reason}")]
    UntrustedServer {
        /// The address connected to.
        addr: String,
        /// Why its certificate was refused.
        reason: ServerRejection,
    },
    /// The TLS handshake or the connection failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Why the client refused the server's certificate.
#[derive(Debug, thiserror::Error)]
pub enum ServerRejection {
    /// Not a validator's API certificate of the consortium: a foreign issuer, expired,
    /// not issued for TLS servers ([`PkiError::Purpose`]), or of another role
    /// ([`PkiError::NotAValidator`]).
    #[error(transparent)]
    Certificate(PkiError),
    /// A validator, but not the one the caller asked for.
    #[error("expected validator {expected}, the certificate names {found}")]
    OtherValidator {
        /// The validator asked for.
        expected: String,
        /// The validator the certificate names.
        found: String,
    },
}

fn read_file(path: &Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// `host:port` of an address given as `host:port` or `https://host:port`.
fn authority(addr: &str) -> Result<(String, u16), ConnectError> {
    let invalid = || ConnectError::Endpoint(addr.to_string());
    let uri = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("https://{addr}")
    };
    if !uri.starts_with("https://") {
        // The API has no plaintext port; a plaintext client would only hang up.
        return Err(invalid());
    }
    let uri: Uri = uri.parse().map_err(|_| invalid())?;
    let host = uri.host().ok_or_else(invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), uri.port_u16().unwrap_or(443)))
}

/// Checks the server's certificate as a node's (see the module docs) and the TLS
/// handshake signature made with its key; remembers why it refused one.
#[derive(Debug)]
struct ValidatorServer {
    ca: CertificateAuthority,
    expected: Option<String>,
    algorithms: WebPkiSupportedAlgorithms,
    rejected: Arc<Mutex<Option<ServerRejection>>>,
}

impl ValidatorServer {
    fn check(&self, der: &[u8]) -> Result<(), ServerRejection> {
        let who = self
            .ca
            .verify_validator_server(der)
            .map_err(ServerRejection::Certificate)?;
        match &self.expected {
            Some(expected) if *expected != who.participant => {
                Err(ServerRejection::OtherValidator {
                    expected: expected.clone(),
                    found: who.participant,
                })
            }
            _ => Ok(()),
        }
    }
}

impl ServerCertVerifier for ValidatorServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        // The certificate's role and participant id name the server, not a host name:
        // a node is reached by whatever address its operator gives it.
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.check(end_entity.as_ref()) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(reason) => {
                let error = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                    Arc::new(io::Error::other(reason.to_string())),
                )));
                if let Ok(mut slot) = self.rejected.lock() {
                    *slot = Some(reason);
                }
                Err(error)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Opens each of the channel's connections: TCP, then TLS with the node check.
#[derive(Clone)]
struct Connector {
    config: Arc<ClientConfig>,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, io::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect((this.host.as_str(), this.port)).await?;
            tcp.set_nodelay(true)?;
            let tls = tokio_rustls::TlsConnector::from(this.config)
                .connect(this.server_name, tcp)
                .await?;
            Ok(TokioIo::new(tls))
        })
    }
}

/// The caller's certificate chain and key.
fn client_identity(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ConnectError> {
    let pem = read_file(cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| PkiError::Pem(cert_path.display().to_string(), "CERTIFICATE"))?;
    let key = PrivateKeyDer::from_pem_slice(&sable_pki::read_secret(key_path)?)
        .map_err(|_| PkiError::Pem(key_path.display().to_string(), "PRIVATE KEY"))?;
    Ok((chain, key))
}

async fn open(
    addr: &str,
    ca_pem_path: &Path,
    identity: Option<(&Path, &Path)>,
    expected: Option<&str>,
) -> Result<Channel, ConnectError> {
    let (host, port) = authority(addr)?;
    let ca = CertificateDer::from_pem_slice(&read_file(ca_pem_path)?)
        .map_err(|_| PkiError::Pem(ca_pem_path.display().to_string(), "CERTIFICATE"))?;
    let ca = CertificateAuthority::from_der(ca.as_ref().to_vec())?;
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let rejected = Arc::new(Mutex::new(None));
    let verifier = Arc::new(ValidatorServer {
        ca,
        expected: expected.map(str::to_string),
        algorithms: provider.signature_verification_algorithms,
        rejected: rejected.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some((cert, key)) => {
            let (chain, key) = client_identity(cert, key)?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let server_name =
        ServerName::try_from(host.clone()).map_err(|_| ConnectError::Endpoint(addr.to_string()))?;
    let connector = Connector {
        config: Arc::new(config),
        host,
        port,
        server_name,
    };
    // TLS is the connector's: tonic sees a plain byte stream.
    let origin = if connector.host.contains(':') {
        format!("http://[{}]:{port}", connector.host)
    } else {
        format!("http://{}:{port}", connector.host)
    };
    let endpoint =
        Channel::from_shared(origin).map_err(|_| ConnectError::Endpoint(addr.to_string()))?;
    match endpoint.connect_with_connector(connector).await {
        Ok(channel) => Ok(channel),
        Err(e) => match rejected.lock().ok().and_then(|mut r| r.take()) {
            Some(reason) => Err(ConnectError::UntrustedServer {
                addr: addr.to_string(),
                reason,
            }),
            None => Err(e.into()),
        },
    }
}

/// Connects to a node's API at `addr` (`host:port` or `https://host:port`) as the holder
/// of `cert_path`/`key_path`, checking that the node's certificate is a validator's of
/// the consortium whose CA is in `ca_pem_path` (any validator).
pub async fn connect(
    addr: &str,
    ca_pem_path: &Path,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Channel, ConnectError> {
    open(addr, ca_pem_path, Some((cert_path, key_path)), None).await
}

/// [`connect`], and the node must be validator `validator` (its participant id, e.g.
/// `validator-0`): [`ServerRejection::OtherValidator`] otherwise.
pub async fn connect_to_validator(
    addr: &str,
    validator: &str,
    ca_pem_path: &Path,
    cert_path: &Path,
    key_path: &Path,
) -> Result<Channel, ConnectError> {
    open(
        addr,
        ca_pem_path,
        Some((cert_path, key_path)),
        Some(validator),
    )
    .await
}

/// Connects without a client certificate. The node requires one at the handshake, so
/// this fails with [`ConnectError::Transport`]: for tests and diagnostics.
pub async fn connect_without_identity(
    addr: &str,
    ca_pem_path: &Path,
) -> Result<Channel, ConnectError> {
    open(addr, ca_pem_path, None, None).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_tls_endpoints_are_accepted() {
        assert_eq!(
            authority("127.0.0.1:7100").unwrap(),
            ("127.0.0.1".into(), 7100)
        );
        assert_eq!(
            authority("https://validator-0.sable.local:7100").unwrap(),
            ("validator-0.sable.local".into(), 7100)
        );
        assert_eq!(authority("[::1]:7100").unwrap(), ("::1".into(), 7100));
        assert!(matches!(
            authority("http://127.0.0.1:7100"),
            Err(ConnectError::Endpoint(_))
        ));
        assert!(matches!(authority("::"), Err(ConnectError::Endpoint(_))));
    }
}

//! The TLS port: rustls server configuration, the accept loop, and who is on the other
//! end of each connection.
//!
//! The handshake requires a client certificate: a client without one never completes
//! it, so it never reaches HTTP/2 or gRPC. Any certificate is accepted at the handshake,
//! so that a caller the consortium does not know receives a gRPC `UNAUTHENTICATED` it
//! can read instead of a bare handshake failure; the handshake still requires proof of
//! possession: the client's TLS 1.3 `CertificateVerify` signature (Ed25519, ECDSA P-256
//! or P-384, RSA) is checked against the certificate it presented. After the handshake
//! the certificate is checked against the consortium CA, for a TLS client
//! ([`CertificateAuthority::verify_tls`] with [`TlsPurpose::Client`]), and the verdict
//! travels with the connection as [`PeerInfo`]; the role gate ([`super::auth`]) refuses
//! every request of a connection without an identity.
//!
//! Handshakes run concurrently, each bounded by [`HANDSHAKE_TIMEOUT`], so a client that
//! stalls mid-handshake holds up no one else, and their number is bounded in total and
//! per address ([`super::limits`]). Only TLS 1.3 is offered.

use std::{
    io,
    net::SocketAddr,
    path::Path,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use rustls::{
    client::danger::HandshakeSignatureValid,
    crypto::{CryptoProvider, WebPkiSupportedAlgorithms},
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, UnixTime},
    server::danger::{ClientCertVerified, ClientCertVerifier},
    DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::{
    limits::{HandshakeLimits, LogBudget},
    RpcError,
};
use sable_pki::{CertificateAuthority, Identity, TlsPurpose};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections that finished the handshake but that the server has not picked up yet.
const ACCEPT_BACKLOG: usize = 64;
/// Warnings about refused or failed handshakes logged per second at most (the rest are
/// counted into the next one).
const HANDSHAKE_WARNINGS_PER_SECOND: u64 = 10;

/// Why a connection carries no identity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    /// The client presented no certificate (the handshake requires one: only a
    /// connection built some other way can carry this).
    #[error("client certificate required")]
    NoCertificate,
    /// The certificate is not a valid consortium certificate (foreign issuer, bad
    /// signature, expired, no role, …).
    #[error("not a valid consortium certificate: {0}")]
    ForeignOrInvalid(String),
}

/// The authenticated identity of a connection, or why it has none.
pub type PeerIdentity = Result<Identity, PeerAuthError>;

/// What the server knows about a connection (tonic puts it in every request's
/// extensions).
#[derive(Clone, Debug)]
pub struct PeerInfo {
    /// The client's address.
    pub addr: SocketAddr,
    /// The client's identity as of the handshake.
    pub identity: PeerIdentity,
}

/// The identity a verified TLS session proves: its end-entity certificate checked
/// against the consortium CA.
pub fn peer_identity(
    ca: &CertificateAuthority,
    certs: Option<&[CertificateDer<'_>]>,
) -> PeerIdentity {
    match certs.and_then(<[_]>::first) {
        None => Err(PeerAuthError::NoCertificate),
        Some(leaf) => ca
            .verify_tls(leaf.as_ref(), TlsPurpose::Client)
            .map_err(|e| PeerAuthError::ForeignOrInvalid(e.to_string())),
    }
}

/// An accepted TLS connection with its [`PeerInfo`].
#[derive(Debug)]
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    info: PeerInfo,
}

impl TlsConnection {
    fn new(stream: TlsStream<TcpStream>, addr: SocketAddr, ca: &CertificateAuthority) -> Self {
        let identity = peer_identity(ca, stream.get_ref().1.peer_certificates());
        match &identity {
            Ok(who) => tracing::debug!(peer = %addr, identity = %who, "client authenticated"),
            Err(e) => tracing::warn!(peer = %addr, reason = %e, "unauthenticated TLS client"),
        }
        TlsConnection {
            stream,
            info: PeerInfo { addr, identity },
        }
    }

    /// Who is connected.
    pub fn info(&self) -> &PeerInfo {
        &self.info
    }
}

impl Connected for TlsConnection {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.info.clone()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Requires a client certificate chain and checks the handshake signature made with
/// its key; accepts any chain (the consortium check comes after the handshake, so that
/// a refusal is a readable gRPC status).
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: WebPkiSupportedAlgorithms,
    hints: Vec<DistinguishedName>,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
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

/// The certificates of a PEM file, in order.
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, RpcError> {
    let pem_error = |reason: String| RpcError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error("no certificate".into()));
    }
    Ok(certs)
}

/// The server's rustls configuration: its certificate and key, TLS 1.3 only, HTTP/2
/// ALPN, and a client certificate required, checked at the handshake for possession
/// only.
pub fn server_config(
    cert: &Path,
    key: &Path,
    ca: &CertificateAuthority,
) -> Result<Arc<ServerConfig>, RpcError> {
    let chain = load_certificates(cert)?;
    let pem = sable_pki::read_secret(key)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| RpcError::Pem {
        path: key.display().to_string(),
        reason: e.to_string(),
    })?;
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let hints = x509_parser::parse_x509_certificate(ca.der())
        .map(|(_, c)| vec![DistinguishedName::from(c.subject().as_raw().to_vec())])
        .unwrap_or_default();
    let verifier = Arc::new(AnyClientCertificate {
        algorithms: provider.signature_verification_algorithms,
        hints,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts TCP connections on `listener` and completes their TLS handshakes
/// concurrently; yields each established connection. Stops accepting (and closes the
/// listening socket) once the returned stream is dropped.
pub fn incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    ca: Arc<CertificateAuthority>,
) -> ReceiverStream<Result<TlsConnection, io::Error>> {
    let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
    let acceptor = TlsAcceptor::from(config);
    let limits = HandshakeLimits::default();
    let warnings = Arc::new(LogBudget::new(HANDSHAKE_WARNINGS_PER_SECOND));
    tokio::spawn(async move {
        loop {
            let (tcp, addr) = tokio::select! {
                () = tx.closed() => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accepting a TCP connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let slot = match limits.admit(addr.ip()) {
                Ok(slot) => slot,
                Err(refused) => {
                    // Closed before any TLS work.
                    drop(tcp);
                    crate::telemetry::metrics()
                        .refused_connections
                        .get_or_create(&crate::telemetry::ReasonLabel {
                            reason: refused.as_str().into(),
                        })
                        .inc();
                    if let Some(swallowed) = warnings.take() {
                        tracing::warn!(peer = %addr, reason = refused.as_str(), swallowed, "connection refused before its handshake");
                    }
                    continue;
                }
            };
            let (tx, acceptor, ca) = (tx.clone(), acceptor.clone(), ca.clone());
            let warnings = warnings.clone();
            tokio::spawn(async move {
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
                drop(slot);
                match handshake {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(TlsConnection::new(stream, addr, &ca))).await;
                    }
                    Ok(Err(e)) => {
                        if let Some(swallowed) = warnings.take() {
                            tracing::warn!(peer = %addr, reason = %e, swallowed, "TLS handshake failed");
                        }
                    }
                    Err(_) => {
                        if let Some(swallowed) = warnings.take() {
                            tracing::warn!(peer = %addr, swallowed, "TLS handshake timed out");
                        }
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

//! # sable-pki — identities of the consortium
//!
//! Owns: who a certificate says its holder is ([`Role`], [`Identity`]), the consortium
//! CA that checks certificates ([`CertificateAuthority`], for TLS peers with the purpose
//! they were issued for: [`TlsPurpose`]), keys and signatures under a domain
//! ([`PublicKey`], [`SigningKey`]), certificate fingerprints for revocation lists,
//! private key files (written mode 0600, refused at load when others can read them:
//! [`write_secret`], [`read_secret`]), and, behind the `dev` feature, the development
//! PKI that issues a whole consortium's keys and certificates ([`generate_dev_pki`]).
//!
//! Every party holds a key and an X.509 certificate issued by the consortium CA. The
//! certificate names the holder's [`Role`] and participant id in one subject alternative
//! name URI, `urn:sable:<role>:<participant-id>`; nothing else in the certificate confers
//! authority.
//!
//! # Keys and who holds which
//! Banks' PKIs and HSMs issue ECDSA P-256 (or RSA) certificates, and stock TLS stacks
//! (Google's grpcio, behind the Python, C++, Ruby and PHP gRPC clients) sign TLS
//! handshakes with those, not with Ed25519. So every role's certificate may carry an
//! Ed25519, P-256 or RSA key ([`PublicKey`]); Sable signatures (admin commands) are
//! 64 bytes, so they are made with Ed25519 or P-256 keys only.
//!
//! One thing must be Ed25519: a validator's consensus and p2p key (commonware's
//! identities), which is the key of its *validator certificate* (`validator-N.pem`),
//! so the p2p transport and the registry of validators name the same key
//! ([`PublicKey::ed25519`], [`load_key_seed`]; [`PkiError::NotEd25519`] otherwise).
//! That certificate is for the p2p identity and for TLS clients only. The gRPC port
//! presents a second certificate of the same validator, its *API server certificate*
//! (`validator-N-server.pem`): P-256, the same `urn:sable:validator:<id>` URI, a DNS
//! name of its own (`validator-N.sable.local`), and the only certificates with the
//! `serverAuth` extended key usage. A client checks the node it connects to with
//! [`CertificateAuthority::verify_validator_server`]: a bank's certificate (clientAuth
//! only, bank role) cannot pass for a node.
//!
//! The development CA itself is P-256 ([`generate_dev_pki`]), which every TLS stack
//! verifies.
//!
//! Must never: grant authority from anything but a CA-issued certificate's role URI,
//! or issue certificates outside the `dev` feature (a production consortium's CA is
//! an offline process, not this crate).
//!
//! # Format
//! Keys are PKCS#8 (`-----BEGIN PRIVATE KEY-----`): Ed25519 in the v1 form over a
//! 32-byte seed, or ECDSA P-256. Certificates are PEM. A certificate is identified on
//! revocation lists by the SHA-256 of its DER ([`fingerprint`]). Signatures: see
//! [`SigningKey::sign`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "dev")]
mod dev;
mod identity;
mod key;
mod secret_file;

#[cfg(feature = "dev")]
pub use dev::{generate_dev_pki, DevPki, DevPkiSpec, IssuedIdentity, DEV_DNS_SUFFIX};
pub use identity::{
    fingerprint, load_certificate_pem, CertificateAuthority, Fingerprint, Identity, Role,
    TlsPurpose,
};
pub use key::{load_key_seed, PublicKey, SigningKey};
pub use secret_file::{check_secret_permissions, read_secret, write_secret};

/// PKI errors.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Certificate generation failed.
    #[cfg(feature = "dev")]
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A PEM document is malformed or of the wrong kind.
    #[error("{0}: not a PEM {1}")]
    Pem(String, &'static str),
    /// The key is not an Ed25519 or P-256 PKCS#8 key.
    #[error("{0}: not an Ed25519 or ECDSA P-256 PKCS#8 private key")]
    KeyFormat(String),
    /// Signing failed (the system's random source for ECDSA).
    #[error("signing failed")]
    Sign,
    /// The certificate cannot be parsed.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// The certificate was not issued by the consortium CA (or its signature is bad).
    #[error("certificate not issued by the consortium CA")]
    ForeignIssuer,
    /// The certificate is outside its validity period.
    #[error("certificate expired or not yet valid")]
    Validity,
    /// The certificate names no Sable role, or an unknown one.
    #[error("certificate carries no valid sable role (expected a SAN URI urn:sable:<role>:<id>)")]
    NoRole,
    /// The certificate's key is none of Ed25519, ECDSA P-256, RSA.
    #[error("certificate key is not Ed25519, ECDSA P-256 or RSA")]
    KeyAlgorithm,
    /// An Ed25519 key is required (a validator's consensus and p2p key) and this one is
    /// of another kind.
    #[error("an Ed25519 key is required (a validator's consensus key), found {0}")]
    NotEd25519(&'static str),
    /// The certificate is not issued for this TLS purpose (extended key usage), or its
    /// key usage forbids signatures.
    #[error("certificate not issued for TLS {0:?} authentication")]
    Purpose(TlsPurpose),
    /// A server presented a valid consortium certificate of a party that is not a
    /// validator.
    #[error("{0} is not a validator: it cannot serve the API")]
    NotAValidator(String),
    /// A private key file that group or others may read or write.
    #[error("private key file {path} is accessible to other users (mode {mode:o}): treat the key as exposed; if it is not, chmod 600 it")]
    ExposedKey {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A participant id is empty or has characters outside `[A-Za-z0-9._-]`.
    #[error("invalid participant id {0:?}")]
    ParticipantId(String),
}

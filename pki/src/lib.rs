//! # sable-pki — identities of the consortium
//!
//! Owns: who a certificate says its holder is ([`Role`], [`Identity`]), the consortium
//! CA that checks certificates ([`CertificateAuthority`]), Ed25519 keys and signatures
//! under a domain ([`sign`], [`verify_signature`]), certificate fingerprints for
//! revocation lists, private key files (written mode 0600, refused at load when
//! others can read them: [`write_secret`], [`read_secret`]), and, behind the `dev` feature, the development PKI that issues a
//! whole consortium's keys and certificates ([`generate_dev_pki`]).
//!
//! Every party holds an Ed25519 key and an X.509 certificate issued by the consortium CA.
//! The certificate names the holder's [`Role`] and participant id in one subject
//! alternative name URI, `urn:sable:<role>:<participant-id>`; nothing else in the
//! certificate confers authority. Validators' certificate keys are also their consensus
//! keys, so the p2p transport and the gRPC API authenticate the same identity.
//!
//! Must never: grant authority from anything but a CA-issued certificate's role URI,
//! or issue certificates outside the `dev` feature (a production consortium's CA is
//! an offline process, not this crate).
//!
//! # Format
//! Keys are PKCS#8 v1 (`-----BEGIN PRIVATE KEY-----`) over a 32-byte Ed25519 seed;
//! certificates are PEM. A certificate is identified on revocation lists by the SHA-256
//! of its DER ([`fingerprint`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "dev")]
mod dev;
mod identity;
mod secret_file;

#[cfg(feature = "dev")]
pub use dev::{generate_dev_pki, DevPki, DevPkiSpec, IssuedIdentity};
pub use identity::{
    fingerprint, load_certificate_pem, load_key_seed, public_key_of_seed, sign, verify_signature,
    CertificateAuthority, Fingerprint, Identity, Role,
};
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
    /// The key is not an Ed25519 PKCS#8 key.
    #[error("{0}: not an Ed25519 PKCS#8 private key")]
    KeyFormat(String),
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
    /// The certificate key is not Ed25519.
    #[error("certificate key is not Ed25519")]
    KeyAlgorithm,
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

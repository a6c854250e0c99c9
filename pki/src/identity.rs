//! Reading identities out of certificates.

use std::{fmt, path::Path, str::FromStr};

use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::PkiError;

/// What a certificate's holder may do. Each RPC names the roles it admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Runs consensus and serves the chain.
    Validator,
    /// Submits transactions and reads the chain.
    Bank,
    /// Reads the whole chain (and decrypts regulator ciphertexts off-node).
    Regulator,
    /// Reads the chain.
    Auditor,
    /// Manages the registry, issuers and revocations.
    Operator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Validator,
        Role::Bank,
        Role::Regulator,
        Role::Auditor,
        Role::Operator,
    ];

    /// The name used in certificates and configuration.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::Bank => "bank",
            Role::Regulator => "regulator",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self, PkiError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(PkiError::NoRole)
    }
}

/// SHA-256 of a certificate's DER: how revocation lists name a certificate.
pub type Fingerprint = [u8; 32];

/// The fingerprint of a DER certificate.
pub fn fingerprint(der: &[u8]) -> Fingerprint {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}

/// An authenticated party: a certificate issued by the consortium CA, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Role named by the certificate.
    pub role: Role,
    /// Participant id named by the certificate (e.g. `bank-a`, `validator-0`).
    pub participant: String,
    /// The certificate's Ed25519 public key.
    pub public_key: [u8; 32],
    /// SHA-256 of the certificate.
    pub fingerprint: Fingerprint,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role, self.participant)
    }
}

pub(crate) fn valid_participant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The consortium CA as verifiers see it: its certificate and public key.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    der: Vec<u8>,
    public_key: [u8; 32],
}

impl CertificateAuthority {
    /// The CA from its DER certificate.
    pub fn from_der(der: Vec<u8>) -> Result<Self, PkiError> {
        let (_, cert) =
            X509Certificate::from_der(&der).map_err(|e| PkiError::Certificate(e.to_string()))?;
        let public_key = ed25519_key(&cert)?;
        Ok(CertificateAuthority { der, public_key })
    }

    /// The CA from a PEM file.
    pub fn load(path: &Path) -> Result<Self, PkiError> {
        Self::from_der(load_certificate_pem(path)?)
    }

    /// The CA certificate (DER).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Checks `der` was issued by this CA, is valid now and names a role, and returns
    /// the identity it proves.
    pub fn verify(&self, der: &[u8]) -> Result<Identity, PkiError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.verify_at(der, now)
    }

    /// [`CertificateAuthority::verify`] at a given Unix time (execution uses the block's
    /// timestamp so every validator reaches the same verdict).
    pub fn verify_at(&self, der: &[u8], unix_secs: i64) -> Result<Identity, PkiError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| PkiError::Certificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(PkiError::Certificate("trailing bytes".into()));
        }
        let (_, ca) = X509Certificate::from_der(&self.der)
            .map_err(|e| PkiError::Certificate(e.to_string()))?;
        if cert.issuer() != ca.subject() {
            return Err(PkiError::ForeignIssuer);
        }
        cert.verify_signature(Some(ca.public_key()))
            .map_err(|_| PkiError::ForeignIssuer)?;
        let at = x509_parser::time::ASN1Time::from_timestamp(unix_secs)
            .map_err(|_| PkiError::Validity)?;
        if !cert.validity().is_valid_at(at) {
            return Err(PkiError::Validity);
        }
        let (role, participant) = role_of(&cert)?;
        Ok(Identity {
            role,
            participant,
            public_key: ed25519_key(&cert)?,
            fingerprint: fingerprint(der),
        })
    }

    /// The CA's Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

fn ed25519_key(cert: &X509Certificate<'_>) -> Result<[u8; 32], PkiError> {
    // id-Ed25519, RFC 8410.
    if cert.public_key().algorithm.algorithm.to_id_string() != "1.3.101.112" {
        return Err(PkiError::KeyAlgorithm);
    }
    cert.public_key()
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| PkiError::KeyAlgorithm)
}

fn role_of(cert: &X509Certificate<'_>) -> Result<(Role, String), PkiError> {
    let mut found = None;
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for name in &san.general_names {
                if let GeneralName::URI(uri) = name {
                    if let Some(rest) = uri.strip_prefix("urn:sable:") {
                        if found.is_some() {
                            // Two roles in one certificate is ambiguous: refuse both.
                            return Err(PkiError::NoRole);
                        }
                        let (role, id) = rest.split_once(':').ok_or(PkiError::NoRole)?;
                        if !valid_participant_id(id) {
                            return Err(PkiError::ParticipantId(id.to_string()));
                        }
                        found = Some((role.parse()?, id.to_string()));
                    }
                }
            }
        }
    }
    found.ok_or(PkiError::NoRole)
}

/// Reads the first certificate of a PEM file (DER).
pub fn load_certificate_pem(path: &Path) -> Result<Vec<u8>, PkiError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    CertificateDer::from_pem_file(path)
        .map(|c| c.as_ref().to_vec())
        .map_err(|_| PkiError::Pem(path.display().to_string(), "CERTIFICATE"))
}

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7); the 32-byte seed follows.
pub(crate) const ED25519_PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Reads the 32-byte Ed25519 seed of a PKCS#8 PEM key file (refused when others can
/// read it).
pub fn load_key_seed(path: &Path) -> Result<[u8; 32], PkiError> {
    use rustls::pki_types::{pem::PemObject, PrivatePkcs8KeyDer};
    let pem = crate::read_secret(path)?;
    let der = PrivatePkcs8KeyDer::from_pem_slice(&pem)
        .map_err(|_| PkiError::Pem(path.display().to_string(), "PRIVATE KEY"))?;
    der.secret_pkcs8_der()
        .strip_prefix(&ED25519_PKCS8_V1_PREFIX[..])
        .and_then(|seed| seed.try_into().ok())
        .ok_or_else(|| PkiError::KeyFormat(path.display().to_string()))
}

/// The Ed25519 public key of a 32-byte seed.
pub fn public_key_of_seed(seed: &[u8; 32]) -> [u8; 32] {
    use ring::signature::KeyPair;
    let mut pk = [0u8; 32];
    if let Ok(kp) = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed) {
        pk.copy_from_slice(kp.public_key().as_ref());
    }
    pk
}

/// Signs `message` under `domain` with the Ed25519 key of `seed`.
pub fn sign(seed: &[u8; 32], domain: &[u8], message: &[u8]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    if let Ok(kp) = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed) {
        sig.copy_from_slice(kp.sign(&domain_separated(domain, message)).as_ref());
    }
    sig
}

/// Verifies an Ed25519 signature made by [`sign`].
pub fn verify_signature(public_key: &[u8; 32], domain: &[u8], message: &[u8], sig: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(&domain_separated(domain, message), sig)
        .is_ok()
}

fn domain_separated(domain: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(4 + domain.len() + message.len());
    m.extend_from_slice(&(domain.len() as u32).to_le_bytes());
    m.extend_from_slice(domain);
    m.extend_from_slice(message);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_key_domain_and_message() {
        let seed = [7u8; 32];
        let pk = public_key_of_seed(&seed);
        let sig = sign(&seed, b"d", b"m");
        assert!(verify_signature(&pk, b"d", b"m", &sig));
        assert!(!verify_signature(&pk, b"e", b"m", &sig));
        assert!(!verify_signature(&pk, b"d", b"n", &sig));
        assert!(!verify_signature(
            &public_key_of_seed(&[8u8; 32]),
            b"d",
            b"m",
            &sig
        ));
        assert!(!verify_signature(&pk, b"d", b"m", &sig[..63]));
    }

    #[test]
    fn roles_parse_and_reject_unknown() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn participant_ids_are_restricted() {
        assert!(valid_participant_id("bank-a.eu_1"));
        assert!(!valid_participant_id(""));
        assert!(!valid_participant_id("a:b"));
        assert!(!valid_participant_id("a b"));
        assert!(!valid_participant_id(&"x".repeat(65)));
    }
}

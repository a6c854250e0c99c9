//! Reading identities out of certificates.

use std::{fmt, path::Path, str::FromStr};

use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::{PkiError, PublicKey};

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
    /// The certificate's public key (Ed25519, P-256 or RSA).
    pub public_key: PublicKey,
    /// SHA-256 of the certificate.
    pub fingerprint: Fingerprint,
    /// The certificate's `notAfter`, in Unix seconds: from then on the identity is no
    /// longer good ([`Identity::expired_at`]).
    pub not_after: i64,
}

impl Identity {
    /// Whether the certificate has expired at `unix_secs` (its `notAfter` is the last
    /// second it is valid, as X.509 reads it).
    pub fn expired_at(&self, unix_secs: i64) -> bool {
        unix_secs > self.not_after
    }
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
    public_key: PublicKey,
}

/// What a TLS peer's certificate must be issued for (its extended key usage, RFC 5280
/// §4.2.1.12). The extension must be present and name the purpose: a certificate
/// without one is not taken as good for any purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsPurpose {
    /// A TLS server (`id-kp-serverAuth`): only validators' API certificates.
    Server,
    /// A TLS client (`id-kp-clientAuth`): participants' certificates.
    Client,
}

impl CertificateAuthority {
    /// The CA from its DER certificate.
    pub fn from_der(der: Vec<u8>) -> Result<Self, PkiError> {
        let (_, cert) =
            X509Certificate::from_der(&der).map_err(|e| PkiError::Certificate(e.to_string()))?;
        let public_key = PublicKey::of_certificate(&cert)?;
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
        self.verify_parsed(der, unix_secs, |_| Ok(()))
    }

    /// [`CertificateAuthority::verify`] for a TLS peer: the certificate must also be
    /// issued for `purpose` (extended key usage), and its key usage, when present, must
    /// allow digital signatures.
    pub fn verify_tls(&self, der: &[u8], purpose: TlsPurpose) -> Result<Identity, PkiError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.verify_parsed(der, now, |cert| {
            let eku = cert
                .extended_key_usage()
                .map_err(|e| PkiError::Certificate(e.to_string()))?;
            let allowed = eku.is_some_and(|e| match purpose {
                TlsPurpose::Server => e.value.server_auth,
                TlsPurpose::Client => e.value.client_auth,
            });
            if !allowed {
                return Err(PkiError::Purpose(purpose));
            }
            let ku = cert
                .key_usage()
                .map_err(|e| PkiError::Certificate(e.to_string()))?;
            if ku.is_some_and(|k| !k.value.digital_signature()) {
                return Err(PkiError::Purpose(purpose));
            }
            Ok(())
        })
    }

    /// A validator's API certificate, as a client checks the node it connects to:
    /// issued by this CA, valid now, for TLS servers, and naming the validator role
    /// ([`PkiError::NotAValidator`] for any other role: a bank's certificate cannot
    /// pass for a node).
    pub fn verify_validator_server(&self, der: &[u8]) -> Result<Identity, PkiError> {
        let who = self.verify_tls(der, TlsPurpose::Server)?;
        if who.role != Role::Validator {
            return Err(PkiError::NotAValidator(who.to_string()));
        }
        Ok(who)
    }

    fn verify_parsed(
        &self,
        der: &[u8],
        unix_secs: i64,
        extra: impl FnOnce(&X509Certificate<'_>) -> Result<(), PkiError>,
    ) -> Result<Identity, PkiError> {
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
        extra(&cert)?;
        Ok(Identity {
            role,
            participant,
            public_key: PublicKey::of_certificate(&cert)?,
            fingerprint: fingerprint(der),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// The CA's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

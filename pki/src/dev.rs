//! A development PKI: a consortium CA and one certificate per party, written as PEM files.
//!
//! For devnets and tests only; a production consortium runs its own CA and issues the
//! same kind of certificates (`urn:sable:<role>:<id>` SAN URI; see the crate docs for
//! which key each role holds).
//!
//! What is issued:
//!
//! | file | key | names | extended key usage |
//! |---|---|---|---|
//! | `ca.pem` | P-256 | `Sable development consortium CA` | (CA) |
//! | `validator-N.pem` / `.key` | Ed25519 (consensus, p2p) | `urn:sable:validator:validator-N` | clientAuth |
//! | `validator-N-server.pem` / `.key` | P-256 (gRPC port) | the same URI, DNS `validator-N.sable.local` | serverAuth |
//! | `<participant>.pem` / `.key` | P-256 | `urn:sable:<role>:<participant>`, DNS `<participant>.sable.local` | clientAuth |
//!
//! No certificate names `localhost` or an IP address: a client names the validator it
//! expects (`validator-N.sable.local`) and checks the role in the certificate.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{identity::valid_participant_id, key::ED25519_PKCS8_V1_PREFIX, PkiError, Role};

/// The DNS suffix of development certificates' names (`validator-0.sable.local`).
pub const DEV_DNS_SUFFIX: &str = "sable.local";

/// Which parties to issue certificates for.
#[derive(Clone, Debug)]
pub struct DevPkiSpec {
    /// Number of validators (`validator-0`, …).
    pub validators: usize,
    /// Bank participant ids.
    pub banks: Vec<String>,
    /// Number of regulators (`regulator-0`, …).
    pub regulators: usize,
    /// Number of auditors (`auditor-0`, …).
    pub auditors: usize,
    /// Number of operators (`operator-0`, …).
    pub operators: usize,
    /// Issue Ed25519 keys to every party (validators' API server certificates stay
    /// P-256): for seeded simulations, whose operator signatures must be the same on
    /// every run (Ed25519 signatures are deterministic, ECDSA ones are not). Stock gRPC
    /// clients cannot handshake with such participants' certificates. Off by default.
    pub ed25519_participants: bool,
    /// Participants other than validators that also get a `serverAuth` certificate, as
    /// a careless CA might issue: for tests that clients refuse such a server by its
    /// role. Empty by default.
    pub misissued_server_certificates: Vec<String>,
    /// Participants whose certificates expire this long after they are issued (valid
    /// from a minute before): for tests that an expired certificate loses its open
    /// streams and its peers. Empty by default (certificates valid until 4096).
    pub short_lived: Vec<(String, std::time::Duration)>,
}

impl Default for DevPkiSpec {
    fn default() -> Self {
        DevPkiSpec {
            validators: 4,
            banks: vec!["bank-a".into(), "bank-b".into()],
            regulators: 1,
            auditors: 1,
            operators: 1,
            ed25519_participants: false,
            misissued_server_certificates: Vec::new(),
            short_lived: Vec::new(),
        }
    }
}

/// One issued identity on disk.
#[derive(Clone, Debug)]
pub struct IssuedIdentity {
    /// Role.
    pub role: Role,
    /// Participant id.
    pub participant: String,
    /// Certificate (PEM file): Ed25519 for validators (their consensus key), P-256 for
    /// every other role.
    pub cert: PathBuf,
    /// Private key (PKCS#8 PEM file).
    pub key: PathBuf,
    /// Validators only: the P-256 certificate and key the gRPC port presents
    /// (`serverAuth`, DNS name [`IssuedIdentity::server_name`]).
    pub server: Option<(PathBuf, PathBuf)>,
}

impl IssuedIdentity {
    /// The DNS name in this party's certificates (`<participant>.sable.local`): the
    /// server name a client asks for when it connects to a validator.
    pub fn server_name(&self) -> String {
        format!("{}.{DEV_DNS_SUFFIX}", self.participant)
    }
}

/// The files of a development PKI.
#[derive(Clone, Debug)]
pub struct DevPki {
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// Every issued identity.
    pub identities: Vec<IssuedIdentity>,
}

impl DevPki {
    /// The identity of `participant`, if issued.
    pub fn identity(&self, participant: &str) -> Option<&IssuedIdentity> {
        self.identities
            .iter()
            .find(|i| i.participant == participant)
    }

    /// Identities with `role`, in issue order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &IssuedIdentity> {
        self.identities.iter().filter(move |i| i.role == role)
    }
}

fn p256_keypair() -> Result<(KeyPair, String), PkiError> {
    let kp = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let pem = kp.serialize_pem();
    Ok((kp, pem))
}

fn ed25519_keypair() -> Result<(KeyPair, String), PkiError> {
    let seed: [u8; 32] = rand::random();
    let mut der = ED25519_PKCS8_V1_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let kp = KeyPair::try_from(der.as_slice())?;
    // rcgen keeps the PKCS#8 document it was given, so this PEM holds the v1 seed form.
    let pem = kp.serialize_pem();
    Ok((kp, pem))
}

fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    std::fs::write(path, contents).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Generates a CA and the identities of `spec` under `dir` (created if missing):
/// `ca.pem`, and `<participant>.pem` / `<participant>.key` for each party. The CA's key
/// is not kept: a development consortium is re-issued, not extended.
pub fn generate_dev_pki(dir: &Path, spec: &DevPkiSpec) -> Result<DevPki, PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let (ca_key, _) = p256_keypair()?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Sable development consortium CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let ca_path = dir.join("ca.pem");
    write(&ca_path, &ca_cert.pem())?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut parties: Vec<(Role, String)> = Vec::new();
    parties.extend((0..spec.validators).map(|i| (Role::Validator, format!("validator-{i}"))));
    parties.extend(spec.banks.iter().map(|b| (Role::Bank, b.clone())));
    parties.extend((0..spec.regulators).map(|i| (Role::Regulator, format!("regulator-{i}"))));
    parties.extend((0..spec.auditors).map(|i| (Role::Auditor, format!("auditor-{i}"))));
    parties.extend((0..spec.operators).map(|i| (Role::Operator, format!("operator-{i}"))));

    let mut identities = Vec::with_capacity(parties.len());
    for (role, participant) in parties {
        if !valid_participant_id(&participant) {
            return Err(PkiError::ParticipantId(participant));
        }
        let lifetime = spec
            .short_lived
            .iter()
            .find(|(p, _)| *p == participant)
            .map(|(_, d)| *d);
        let issue = |name: &str, key: (KeyPair, String), eku: ExtendedKeyUsagePurpose| {
            let mut params = leaf_params(role, &participant, eku)?;
            if let Some(lifetime) = lifetime {
                let now = time::OffsetDateTime::now_utc();
                params.not_before = now - time::Duration::MINUTE;
                params.not_after = now + lifetime;
            }
            let cert = params.signed_by(&key.0, &issuer)?;
            let cert_path = dir.join(format!("{name}.pem"));
            let key_path = dir.join(format!("{name}.key"));
            write(&cert_path, &cert.pem())?;
            crate::write_secret(&key_path, &key.1)?;
            Ok::<_, PkiError>((cert_path, key_path))
        };
        let (cert, key, server) = if role == Role::Validator {
            // The consensus key must be Ed25519 (commonware); the gRPC port presents a
            // P-256 certificate that every TLS stack can verify a handshake with.
            let (cert, key) = issue(
                &participant,
                ed25519_keypair()?,
                ExtendedKeyUsagePurpose::ClientAuth,
            )?;
            let server = issue(
                &format!("{participant}-server"),
                p256_keypair()?,
                ExtendedKeyUsagePurpose::ServerAuth,
            )?;
            (cert, key, Some(server))
        } else {
            let keypair = if spec.ed25519_participants {
                ed25519_keypair()?
            } else {
                p256_keypair()?
            };
            let (cert, key) = issue(&participant, keypair, ExtendedKeyUsagePurpose::ClientAuth)?;
            let server = spec
                .misissued_server_certificates
                .contains(&participant)
                .then(|| {
                    issue(
                        &format!("{participant}-server"),
                        p256_keypair()?,
                        ExtendedKeyUsagePurpose::ServerAuth,
                    )
                })
                .transpose()?;
            (cert, key, server)
        };
        identities.push(IssuedIdentity {
            role,
            participant,
            cert,
            key,
            server,
        });
    }
    Ok(DevPki {
        ca_cert: ca_path,
        identities,
    })
}

/// A party's certificate: its role URI, its own DNS name, one extended key usage.
fn leaf_params(
    role: Role,
    participant: &str,
    eku: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(vec![format!("{participant}.{DEV_DNS_SUFFIX}")])?;
    params.subject_alt_names.push(SanType::URI(
        format!("urn:sable:{role}:{participant}").try_into()?,
    ));
    params
        .distinguished_name
        .push(DnType::CommonName, participant);
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, role.as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![eku];
    Ok(params)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{load_certificate_pem, load_key_seed, CertificateAuthority, SigningKey};
    use crate::{PublicKey, TlsPurpose};

    #[test]
    fn issued_certificates_verify_and_name_their_role() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        for id in &pki.identities {
            let der = load_certificate_pem(&id.cert).unwrap();
            let who = ca.verify(&der).unwrap();
            assert_eq!(who.role, id.role);
            assert_eq!(who.participant, id.participant);
            // The key file holds the certificate's key.
            let key = SigningKey::load(&id.key).unwrap();
            assert_eq!(key.public_key(), who.public_key);
            // Validators' certificates carry their Ed25519 consensus key; every other
            // party's is P-256, as banks' PKIs issue.
            if id.role == Role::Validator {
                assert!(matches!(who.public_key, PublicKey::Ed25519(_)));
                assert_eq!(
                    who.public_key.ed25519().unwrap(),
                    SigningKey::ed25519(load_key_seed(&id.key).unwrap())
                        .unwrap()
                        .public_key()
                        .ed25519()
                        .unwrap()
                );
                let (cert, key) = id.server.as_ref().unwrap();
                let server = ca
                    .verify_validator_server(&load_certificate_pem(cert).unwrap())
                    .unwrap();
                assert_eq!(
                    (server.role, &server.participant),
                    (id.role, &id.participant)
                );
                assert!(matches!(server.public_key, PublicKey::P256(_)));
                assert_eq!(
                    SigningKey::load(key).unwrap().public_key(),
                    server.public_key
                );
            } else {
                assert!(matches!(who.public_key, PublicKey::P256(_)));
                assert!(matches!(
                    load_key_seed(&id.key),
                    Err(PkiError::NotEd25519(_))
                ));
                assert!(id.server.is_none());
                assert!(id.cert.ends_with(format!("{}.pem", id.participant)));
            }
            // Every party's certificate is good for a TLS client, none for a server.
            ca.verify_tls(&der, TlsPurpose::Client).unwrap();
            assert!(matches!(
                ca.verify_tls(&der, TlsPurpose::Server),
                Err(PkiError::Purpose(TlsPurpose::Server))
            ));
        }
        assert_eq!(pki.with_role(Role::Validator).count(), 4);
        assert!(matches!(
            CertificateAuthority::load(&pki.ca_cert)
                .unwrap()
                .public_key(),
            PublicKey::P256(_)
        ));
    }

    #[test]
    fn each_party_has_its_own_name_and_none_is_localhost() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
        let mut names = std::collections::HashSet::new();
        for id in &pki.identities {
            let pem = std::fs::read_to_string(&id.cert).unwrap();
            let der = load_certificate_pem(&id.cert).unwrap();
            let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
            let san = cert.subject_alternative_name().unwrap().unwrap();
            let dns: Vec<String> = san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(_) => {
                        panic!("{}: an IP address SAN", id.participant)
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(dns, vec![id.server_name()], "{pem}");
            assert!(!dns.iter().any(|d| d == "localhost"));
            assert!(names.insert(id.server_name()), "shared name");
        }
    }

    #[test]
    fn a_bank_certificate_cannot_pass_for_a_validator_server() {
        let dir = tempfile::tempdir().unwrap();
        let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let bank = load_certificate_pem(&pki.identity("bank-a").unwrap().cert).unwrap();
        // Not issued for servers at all.
        assert!(matches!(
            ca.verify_validator_server(&bank),
            Err(PkiError::Purpose(TlsPurpose::Server))
        ));
        // A serverAuth certificate of a bank is refused by its role.
        let dir = tempfile::tempdir().unwrap();
        let spec = DevPkiSpec {
            misissued_server_certificates: vec!["bank-a".into()],
            ..DevPkiSpec::default()
        };
        let pki = generate_dev_pki(dir.path(), &spec).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let (cert, _) = pki.identity("bank-a").unwrap().server.clone().unwrap();
        let rogue = load_certificate_pem(&cert).unwrap();
        assert_eq!(
            ca.verify_tls(&rogue, TlsPurpose::Server).unwrap().role,
            Role::Bank
        );
        assert!(matches!(
            ca.verify_validator_server(&rogue),
            Err(PkiError::NotAValidator(who)) if who == "bank:bank-a"
        ));
        // A validator's p2p certificate is not a server certificate either.
        let v = load_certificate_pem(&pki.identity("validator-1").unwrap().cert).unwrap();
        assert!(matches!(
            ca.verify_validator_server(&v),
            Err(PkiError::Purpose(TlsPurpose::Server))
        ));
    }

    #[test]
    fn short_lived_certificates_carry_their_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let spec = DevPkiSpec {
            short_lived: vec![("bank-b".into(), std::time::Duration::from_secs(600))],
            ..DevPkiSpec::default()
        };
        let pki = generate_dev_pki(dir.path(), &spec).unwrap();
        let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let der = load_certificate_pem(&pki.identity("bank-b").unwrap().cert).unwrap();
        let who = ca.verify_at(&der, now).unwrap();
        assert!(
            (who.not_after - (now + 600)).abs() <= 5,
            "{}",
            who.not_after
        );
        assert!(!who.expired_at(who.not_after));
        assert!(who.expired_at(who.not_after + 1));
        assert!(matches!(
            ca.verify_at(&der, who.not_after + 1),
            Err(PkiError::Validity)
        ));
        // Everyone else keeps the long validity.
        let a = load_certificate_pem(&pki.identity("bank-a").unwrap().cert).unwrap();
        assert!(ca.verify_at(&a, now).unwrap().not_after > now + 100 * 365 * 86_400);
    }

    #[cfg(unix)]
    #[test]
    fn issued_keys_are_owner_only_and_a_key_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
        for id in &pki.identities {
            let mode = std::fs::metadata(&id.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", id.key.display());
        }
        let key = &pki.identity("validator-0").unwrap().key;
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_key_seed(key),
            Err(PkiError::ExposedKey { mode: 0o644, .. })
        ));
    }

    #[test]
    fn a_foreign_ca_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pki_a = generate_dev_pki(a.path(), &DevPkiSpec::default()).unwrap();
        let pki_b = generate_dev_pki(b.path(), &DevPkiSpec::default()).unwrap();
        let ca_a = CertificateAuthority::load(&pki_a.ca_cert).unwrap();
        let foreign = load_certificate_pem(&pki_b.identity("bank-a").unwrap().cert).unwrap();
        assert!(matches!(
            ca_a.verify(&foreign),
            Err(PkiError::ForeignIssuer)
        ));
        assert!(matches!(
            ca_a.verify(&foreign[..foreign.len() - 1]),
            Err(PkiError::Certificate(_))
        ));
    }
}

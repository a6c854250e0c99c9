//! A development PKI: a consortium CA and one certificate per party, written as PEM files.
//!
//! For devnets and tests only; a production consortium runs its own CA and issues the
//! same kind of certificates (Ed25519 key, `urn:sable:<role>:<id>` SAN URI).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{identity::valid_participant_id, identity::ED25519_PKCS8_V1_PREFIX, PkiError, Role};

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
}

impl Default for DevPkiSpec {
    fn default() -> Self {
        DevPkiSpec {
            validators: 4,
            banks: vec!["bank-a".into(), "bank-b".into()],
            regulators: 1,
            auditors: 1,
            operators: 1,
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
    /// Certificate (PEM file).
    pub cert: PathBuf,
    /// Private key (PKCS#8 PEM file).
    pub key: PathBuf,
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
    let (ca_key, _) = ed25519_keypair()?;
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
        let (key, key_pem) = ed25519_keypair()?;
        let mut params = CertificateParams::new(vec!["localhost".to_string()])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        params.subject_alt_names.push(SanType::URI(
            format!("urn:sable:{role}:{participant}").try_into()?,
        ));
        params
            .distinguished_name
            .push(DnType::CommonName, participant.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, role.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &issuer)?;
        let cert_path = dir.join(format!("{participant}.pem"));
        let key_path = dir.join(format!("{participant}.key"));
        write(&cert_path, &cert.pem())?;
        crate::write_secret(&key_path, &key_pem)?;
        identities.push(IssuedIdentity {
            role,
            participant,
            cert: cert_path,
            key: key_path,
        });
    }
    Ok(DevPki {
        ca_cert: ca_path,
        identities,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{load_certificate_pem, load_key_seed, CertificateAuthority};

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
            let seed = load_key_seed(&id.key).unwrap();
            assert_eq!(crate::public_key_of_seed(&seed), who.public_key);
        }
        assert_eq!(pki.with_role(Role::Validator).count(), 4);
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

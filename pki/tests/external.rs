//! Certificates from a bank's own PKI, made with OpenSSL rather than this crate
//! (`tests/data/`, valid for a century): an RSA root, an RSA client certificate, and a
//! P-256 certificate whose key is in OpenSSL's PKCS#8 form, as HSMs export them. The
//! key is a test fixture, not a secret.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use rustls::pki_types::{pem::PemObject, PrivatePkcs8KeyDer};
use sable_pki::{
    load_certificate_pem, CertificateAuthority, PkiError, PublicKey, Role, SigningKey, TlsPurpose,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn an_rsa_consortium_ca_and_its_rsa_certificates_are_accepted_for_tls_only() {
    let ca = CertificateAuthority::load(&data("rsa-ca.pem")).unwrap();
    assert!(matches!(ca.public_key(), PublicKey::Rsa(_)));
    let der = load_certificate_pem(&data("rsa-bank.pem")).unwrap();
    let who = ca.verify_tls(&der, TlsPurpose::Client).unwrap();
    assert_eq!(
        (who.role, who.participant.as_str()),
        (Role::Bank, "bank-rsa")
    );
    assert!(matches!(who.public_key, PublicKey::Rsa(_)));
    // Not a server certificate, not a consensus key, and it signs no Sable message.
    assert!(matches!(
        ca.verify_tls(&der, TlsPurpose::Server),
        Err(PkiError::Purpose(TlsPurpose::Server))
    ));
    assert!(matches!(
        who.public_key.ed25519(),
        Err(PkiError::NotEd25519("rsa"))
    ));
    assert!(!who.public_key.verify(b"d", b"m", &[0; 64]));
}

#[test]
fn an_hsm_style_p256_key_signs_what_its_certificate_verifies() {
    let ca = CertificateAuthority::load(&data("rsa-ca.pem")).unwrap();
    let der = load_certificate_pem(&data("p256-operator.pem")).unwrap();
    let who = ca.verify_tls(&der, TlsPurpose::Client).unwrap();
    assert_eq!(who.role, Role::Operator);
    assert!(matches!(who.public_key, PublicKey::P256(_)));
    let pem = std::fs::read(data("p256-operator.key")).unwrap();
    let pkcs8 = PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
    let key = SigningKey::from_pkcs8(pkcs8.secret_pkcs8_der()).unwrap();
    assert_eq!(key.public_key(), who.public_key);
    let sig = key.sign(b"sable-admin", b"command").unwrap();
    assert!(who.public_key.verify(b"sable-admin", b"command", &sig));
    assert!(!who.public_key.verify(b"sable-admin", b"other", &sig));
}

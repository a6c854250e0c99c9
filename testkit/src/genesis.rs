//! A chain's genesis parameters over a development PKI: every validator it issued, and
//! governance by M of its operators.

use sable_circuits::{
    keys::{RegulatorPublicKey, RegulatorSecretKey},
    transaction::ChainId,
};
use sable_client::wallet::OperatorKey;
use sable_pki::{fingerprint, load_certificate_pem, CertificateAuthority, DevPki, Role};
use sable_primitives::{params::Governance, ChainParams};

/// A fixed regulator key for test chains whose transactions are built outside any
/// node (their headers must name the chain's key): `seed` picks one of 255 distinct
/// keys. Never a key for anything but tests.
pub fn test_regulator(seed: u8) -> RegulatorSecretKey {
    let mut b = [0; 32];
    b[0] = seed.max(1);
    match RegulatorSecretKey::from_bytes(&b) {
        Ok(k) => k,
        Err(_) => unreachable!("a small non-zero scalar is canonical"),
    }
}

/// The chain `namespace` over `pki`: its validators in index order, governed by
/// `threshold` of all its operators.
pub fn chain_params(
    pki: &DevPki,
    namespace: &str,
    regulator: RegulatorPublicKey,
    threshold: usize,
) -> ChainParams {
    let fingerprints = |role| -> Vec<_> {
        pki.with_role(role)
            .map(|id| fingerprint(&load_certificate_pem(&id.cert).unwrap()))
            .collect()
    };
    let params = ChainParams {
        chain: ChainId::from_namespace(namespace),
        regulator,
        ca: CertificateAuthority::load(&pki.ca_cert).unwrap(),
        registry_root_window: 16,
        validators: fingerprints(Role::Validator),
        governance: Governance::new(threshold, fingerprints(Role::Operator)).unwrap(),
    };
    params.check().unwrap();
    params
}

/// Every operator's key, in index order (`operator-0`, …).
pub fn operator_keys(pki: &DevPki) -> Vec<OperatorKey> {
    pki.with_role(Role::Operator)
        .map(|id| OperatorKey::load(&id.key, &id.cert).unwrap())
        .collect()
}

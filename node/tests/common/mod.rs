//! The harness several node test binaries share: a node without consensus over a real
//! RocksDB, with block 1 applied (a bank registered, an issuer authorised).
#![allow(clippy::unwrap_used, dead_code)]

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use sable_circuits::{
    circuit::VerifyingKey,
    keys::{RegulatorPublicKey, RegulatorSecretKey},
    transaction::{ChainId, Transaction, TxHeader},
};
use sable_client::wallet::{issue, Issuer};
use sable_execution::{AllowAll, ChainParams, Verifier};
use sable_node::{mempool::MempoolLimits, node::Node};
use sable_pki::{
    generate_dev_pki, load_certificate_pem, CertificateAuthority, DevPkiSpec, SigningKey,
};
use sable_primitives::admin::{AdminCommand, AdminOp};
use sable_storage::Store;
use sable_testkit::{apply_admin_block, parties::Bank};

/// The chain these nodes run.
pub fn chain() -> ChainId {
    ChainId::from_namespace("sable-test")
}

/// A header for this chain, valid from the first block on.
pub fn header() -> TxHeader {
    TxHeader {
        chain: chain(),
        expiry_height: 1_000,
    }
}

/// An issuance of `value` to `to` by `issuer` (signatures only: no proof to build).
pub fn issuance(issuer: &Issuer, to: &Bank, value: u64) -> Transaction {
    issue(header(), &[(issuer, "USD", &[(to.address(), value)])]).0
}

pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A node without consensus over a real RocksDB, verifying in the background in rounds
/// gathered for `window`, in batches and pieces of at most `max_batch`, with block 1
/// applied: a bank registered and an issuer authorised, so issuances pass admission.
pub struct Started {
    pub node: Arc<Node>,
    /// The node's store, for what a test writes or damages behind the node's back.
    pub store: Arc<Store>,
    pub verifier: Verifier,
    pub issuer: Issuer,
    pub bank: Bank,
    pub regulator: RegulatorPublicKey,
    /// The operator's key and certificate (DER), for more operator commands.
    pub operator: (SigningKey, Vec<u8>),
    pub _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// The verifying key, built once for this test binary.
pub async fn verifying_key() -> Arc<VerifyingKey> {
    static VK: OnceLock<Arc<VerifyingKey>> = OnceLock::new();
    if let Some(vk) = VK.get() {
        return vk.clone();
    }
    let vk = tokio::task::spawn_blocking(|| Arc::new(VerifyingKey::build()))
        .await
        .unwrap();
    VK.get_or_init(|| vk).clone()
}

pub async fn started(window: Duration, max_batch: usize) -> Started {
    let (pki_dir, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pki = generate_dev_pki(pki_dir.path(), &DevPkiSpec::default()).unwrap();
    let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
    let regulator = RegulatorSecretKey::random(&mut rand::rng()).public_key();
    let verifier = Verifier::start(verifying_key().await, regulator, 0, max_batch, Arc::new(()));
    let store = Arc::new(Store::open(db.path()).unwrap());
    let node = Node::new(
        store.clone(),
        Arc::new(ChainParams {
            chain: chain(),
            regulator,
            ca,
            registry_root_window: 16,
        }),
        Arc::new(AllowAll),
        verifier.clone(),
        MempoolLimits::default(),
    )
    .unwrap();
    node.start_preverifier(window, max_batch);

    // Block 1 (applied directly: no consensus here) registers a bank and authorises an
    // issuer, so issuances pass admission's state checks.
    let (issuer, bank) = (Issuer::random(), Bank::new());
    let op = pki.identity("operator-0").unwrap();
    let (seed, cert) = (
        SigningKey::load(&op.key).unwrap(),
        load_certificate_pem(&op.cert).unwrap(),
    );
    let admin = [
        AdminOp::AuthorizeIssuer {
            issuer_key: issuer.public(),
            label: "issuer".into(),
        },
        AdminOp::AddParticipant {
            address: bank.address(),
            label: "bank".into(),
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(nonce, op)| {
        AdminCommand {
            nonce: nonce as u64,
            op,
        }
        .sign(&chain(), &seed, cert.clone())
        .unwrap()
        .to_bytes()
    })
    .collect();
    let applied = apply_admin_block(&node, admin).await;
    assert!(
        applied.outcomes.iter().all(|o| o.rejection.is_none()),
        "{:?}",
        applied.outcomes
    );
    Started {
        node,
        store,
        verifier,
        issuer,
        bank,
        regulator,
        operator: (seed, cert),
        _dirs: (pki_dir, db),
    }
}

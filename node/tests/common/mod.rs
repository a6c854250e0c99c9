//! The harness several node test binaries share: a node without consensus over a real
//! RocksDB, with block 1 applied (a bank registered, an issuer authorised).
#![allow(clippy::unwrap_used, dead_code)]

pub mod api;

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use sable_circuits::{
    circuit::VerifyingKey,
    keys::RegulatorPublicKey,
    transaction::{ChainId, Transaction, TxHeader},
};
use sable_client::wallet::OperatorKey;
use sable_client::wallet::{issue, Issuer};
use sable_execution::{AllowAll, ChainParams, Verifier};
use sable_node::{mempool::MempoolLimits, node::Node};
use sable_pki::{generate_dev_pki, DevPkiSpec};
use sable_primitives::admin::{AdminCommand, AdminOp, SignedAdminCommand};
use sable_primitives::Rejection;
use sable_storage::Store;
use sable_testkit::{apply_admin_block, genesis, parties::Bank};

/// The chain these nodes run.
pub fn chain() -> ChainId {
    ChainId::from_namespace("sable-test")
}

/// The regulator key of these nodes' chain (fixed: headers are built without a node).
pub fn regulator_key() -> RegulatorPublicKey {
    genesis::test_regulator(1).public_key()
}

/// A header for this chain, valid from the first block on.
pub fn header() -> TxHeader {
    TxHeader {
        chain: chain(),
        expiry_height: 1_000,
        regulator: regulator_key(),
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
    /// The chain's operators (`operator-0..2`; it is governed 2 of 3), for more
    /// operator commands.
    pub operators: Vec<OperatorKey>,
    /// The chain's parameters.
    pub params: Arc<ChainParams>,
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
    let spec = DevPkiSpec {
        operators: 3,
        ..DevPkiSpec::default()
    };
    let pki = generate_dev_pki(pki_dir.path(), &spec).unwrap();
    let regulator = regulator_key();
    let verifier = Verifier::start(verifying_key().await, 0, max_batch, Arc::new(()));
    let store = Arc::new(Store::open(db.path()).unwrap());
    let params = Arc::new(genesis::chain_params(&pki, "sable-test", regulator, 2));
    let node = Node::new(
        store.clone(),
        params.clone(),
        Arc::new(AllowAll),
        verifier.clone(),
        MempoolLimits::default(),
    )
    .unwrap();
    node.start_preverifier(window, max_batch);

    // Block 1 (applied directly: no consensus here) registers a bank and authorises an
    // issuer, so issuances pass admission's state checks.
    let (issuer, bank) = (Issuer::random(), Bank::new());
    let operators = genesis::operator_keys(&pki);
    let admin = [
        AdminOp::AuthorizeIssuer {
            issuer_key: issuer.public(),
            label: "issuer".into(),
        },
        bank.add_participant("bank"),
    ]
    .into_iter()
    .enumerate()
    .map(|(nonce, op)| approved(&operators[..2], &chain(), nonce as u64, op).to_bytes())
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
        operators,
        params,
        _dirs: (pki_dir, db),
    }
}

/// `op` approved by each of `by` for `chain`.
pub fn approved(
    by: &[OperatorKey],
    chain: &ChainId,
    nonce: u64,
    op: AdminOp,
) -> SignedAdminCommand {
    sable_client::wallet::approved(&AdminCommand { nonce, op }, chain, by).unwrap()
}

/// Applies a block of `admin` commands and `txs` on top of the node's tip; returns each
/// command's rejection, in block order.
pub async fn apply(s: &Started, admin: Vec<Vec<u8>>, txs: Vec<Vec<u8>>) -> Vec<Option<Rejection>> {
    sable_testkit::apply_block(&s.node, admin, txs)
        .await
        .outcomes
        .into_iter()
        .map(|o| o.rejection)
        .collect()
}

/// `op` approved by operators 0 and 1 (the chain is governed 2 of 3).
pub fn operator_command(s: &Started, nonce: u64, op: AdminOp) -> Vec<u8> {
    approved(&s.operators[..2], &chain(), nonce, op).to_bytes()
}

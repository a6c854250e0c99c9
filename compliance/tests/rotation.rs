//! The regulator's audit across a rotation of the chain's regulator key, on a synthetic
//! chain whose key rotates at a height (the operator command in block 1): the notes
//! before it open with the old key only, those after it with the new key only, and a
//! keyring of both accounts for every payment, from a node's blocks or from what
//! Ethereum holds. A payment after the rotation still proven for the old key is skipped
//! by the L1 replay as execution skips it, and the roots agree.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use sable_circuits::keys::RegulatorSecretKey;
use sable_compliance::audit::{
    l1::L1Replay, AuditBlock, AuditError, AuditLedger, Keyring, RegulatorKeys, SingleKey,
};
use sable_primitives::{block::TxId, published::SettledBatch};
use sable_testkit::synthetic::{header, SyntheticChain, Workload};

/// The height the key rotates at.
const ROTATE_AT: u64 = 8;

fn chain() -> &'static SyntheticChain {
    static CHAIN: OnceLock<SyntheticChain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        SyntheticChain::generate(Workload {
            payments: 60,
            rotate_at: Some(ROTATE_AT),
            ..Workload::default()
        })
    })
}

fn single(sk: &RegulatorSecretKey) -> SingleKey {
    SingleKey::new(RegulatorSecretKey::from_bytes(&sk.to_bytes()).unwrap())
}

fn old_key() -> SingleKey {
    single(&chain().regulator)
}

fn new_key() -> SingleKey {
    single(&chain().rotated.as_ref().unwrap().1)
}

fn both() -> Keyring {
    Keyring::new().with(old_key()).with(new_key())
}

/// Applies the chain's blocks to a fresh ledger with `keys`, stopping at the first
/// refusal: the ledger and the refusal.
fn audit(keys: &dyn RegulatorKeys) -> (AuditLedger, Option<AuditError>) {
    let mut ledger = AuditLedger::new();
    for b in &chain().blocks {
        let mut block = AuditBlock::new(b.height, b.txs.iter().map(|(id, tx)| (*id, tx)));
        block.timestamp_ms = b.timestamp_ms;
        block.admin = b.admin.clone();
        if let Err(e) = ledger.apply_block(block, keys) {
            return (ledger, Some(e));
        }
    }
    (ledger, None)
}

/// The first transaction with a ciphertext in a block at or after `from`.
fn first_payment_from(from: u64) -> TxId {
    chain()
        .payments
        .iter()
        .find(|p| p.height >= from)
        .unwrap()
        .tx
}

#[test]
fn each_side_of_a_rotation_opens_with_its_own_key_and_a_keyring_reads_all() {
    let chain = chain();
    assert!(chain.payments.iter().any(|p| p.height < ROTATE_AT));
    assert!(chain.payments.iter().any(|p| p.height >= ROTATE_AT));
    // Every payment names the key of its block.
    for b in &chain.blocks {
        for (_, tx) in &b.txs {
            assert_eq!(
                tx.header.regulator,
                chain.regulator_at(b.height).public_key()
            );
        }
    }

    // The keyring reads everything: each bank's wallet equals the regulator's view.
    let (ledger, refused) = audit(&both());
    assert!(refused.is_none(), "{refused:?}");
    assert_eq!(ledger.height(), chain.blocks.len() as u64);
    let positions = ledger.positions_at(ledger.height());
    for bank in &chain.banks {
        for id in &chain.assets {
            let seen = positions
                .get(&(
                    sable_compliance::audit::OwnerTag::of(&bank.address()),
                    sable_compliance::audit::AssetTag::of(*id),
                ))
                .copied()
                .unwrap_or(0);
            assert_eq!(seen, u128::from(bank.balance(*id)), "{}", bank.name);
        }
    }
    let moved: u128 = chain.payments.iter().map(|p| u128::from(p.value)).sum();
    let flows: u128 = ledger.flows(1, ledger.height()).values().sum::<u128>()
        + ledger
            .burns()
            .iter()
            .map(|b| u128::from(b.value))
            .sum::<u128>();
    assert_eq!(flows, moved, "100% of the value moved");

    // The old key alone stops at the first payment after the rotation, by name.
    let (ledger, refused) = audit(&old_key());
    let new = chain.rotated.as_ref().unwrap().1.public_key().to_string();
    let first_after = first_payment_from(ROTATE_AT);
    assert!(
        matches!(&refused, Some(AuditError::KeyNotHeld { tx, key }) if *tx == first_after && *key == new),
        "{refused:?}"
    );
    let stopped_at = chain
        .payments
        .iter()
        .find(|p| p.tx == first_after)
        .unwrap()
        .height;
    assert_eq!(ledger.height(), stopped_at - 1, "nothing of that block");

    // The new key alone stops at the first payment of all.
    let (ledger, refused) = audit(&new_key());
    let old = chain.regulator.public_key().to_string();
    assert!(
        matches!(&refused, Some(AuditError::KeyNotHeld { tx, key }) if *tx == first_payment_from(1) && *key == old),
        "{refused:?}"
    );
    assert_eq!(ledger.height(), 1, "the issuance's block only");
}

#[test]
fn the_l1_replay_follows_the_rotation_and_skips_a_payment_for_the_retired_key() {
    let chain = chain();
    let keys = both();
    let honest = chain.batches(4);
    let replay = |batches: &[SettledBatch]| {
        let mut replay = L1Replay::new(header().chain, chain.regulator.public_key());
        let mut ledger = AuditLedger::new();
        for b in batches {
            replay.apply_batch(&mut ledger, b, &keys).unwrap();
        }
        ledger
    };
    let (direct, _) = audit(&keys);
    let ledger = replay(&honest);
    assert_eq!(ledger.notes(), direct.notes());
    assert_eq!(ledger.spends(), direct.spends());

    // One more block, after the rotation, with a fresh payment still proven for the
    // retired key: execution skips it (`WrongRegulatorKey`), so it moves no root, and
    // the replay skips it too.
    let last = honest.last().unwrap();
    let b = &chain.banks[1];
    let note = b.note_for(chain.assets[0], 1).unwrap();
    let stale = chain.part_paying(
        b.spending_key(),
        note,
        Some(chain.banks[2].address()),
        1,
        &chain.regulator,
    );
    let mut batches = honest.clone();
    batches.push(SyntheticChain::skipped_batch(last, &[stale]));
    let height = last.last_block + 1;
    assert!(height >= ROTATE_AT);
    let extended = replay(&batches);
    assert_eq!(extended.height(), height);
    assert_eq!(extended.notes(), ledger.notes());
    assert_eq!(extended.spends(), ledger.spends());
}

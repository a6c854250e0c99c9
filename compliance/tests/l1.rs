//! The regulator's audit from published batches alone (`audit::l1`), on a synthetic
//! chain cut into batches as settlement cuts it: the replay gives the same ledger as
//! reading the blocks directly; transactions execution would have skipped (a second
//! spend of a note, an expired one, one naming a regulator key of the sender's own, a
//! repeat) are skipped and the roots still agree
//! (each skip fails this test when its check is removed);
//! a batch whose data or roots are not what the chain reached, out of order, or read
//! with the wrong key is refused by name with nothing of it applied.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use sable_circuits::{circuit::Proof, keys::RegulatorSecretKey, transaction::Transaction};
use sable_client::wallet::OwnedNote;
use sable_compliance::audit::{
    l1::{L1AuditError, L1Replay, SettledBatch},
    AuditBlock, AuditLedger, SingleKey,
};
use sable_primitives::{block::Block, published::PublishedData};
use sable_testkit::synthetic::{header, SyntheticChain, Workload};

fn chain() -> &'static SyntheticChain {
    static CHAIN: OnceLock<SyntheticChain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        SyntheticChain::generate(Workload {
            payments: 60,
            ..Workload::default()
        })
    })
}

fn key(chain: &SyntheticChain) -> SingleKey {
    SingleKey::new(RegulatorSecretKey::from_bytes(&chain.regulator.to_bytes()).unwrap())
}

fn batches(chain: &SyntheticChain) -> Vec<SettledBatch> {
    chain.batches(4)
}

/// Replays `batches` into a fresh ledger; the ledger and the first refusal.
fn replay(
    chain: &SyntheticChain,
    batches: &[SettledBatch],
) -> (AuditLedger, Option<(u64, L1AuditError)>) {
    let key = key(chain);
    let mut replay = L1Replay::new(header().chain, chain.regulator.public_key());
    let mut ledger = AuditLedger::new();
    for b in batches {
        if let Err(e) = replay.apply_batch(&mut ledger, b, &key) {
            return (ledger, Some((b.number, e)));
        }
    }
    (ledger, None)
}

/// Rewrites the transactions of block `height` in `batch`'s data with `edit`.
fn edit_block(batch: &mut SettledBatch, height: u64, edit: impl FnOnce(&mut Block)) {
    let mut blocks = PublishedData::from_bytes(&batch.data).unwrap().0;
    edit(blocks.iter_mut().find(|b| b.height == height).unwrap());
    batch.data = PublishedData(blocks).to_bytes();
}

#[test]
fn the_replay_of_published_batches_equals_the_direct_reading_of_the_blocks() {
    let chain = chain();
    let (ledger, refused) = replay(chain, &batches(chain));
    assert!(refused.is_none(), "{refused:?}");
    let key = key(chain);
    let mut direct = AuditLedger::new();
    for b in &chain.blocks {
        let mut block = AuditBlock::new(b.height, b.txs.iter().map(|(id, tx)| (*id, tx)));
        block.timestamp_ms = b.timestamp_ms;
        block.admin = b.admin.clone();
        direct.apply_block(block, &key).unwrap();
    }
    assert_eq!(ledger.height(), chain.blocks.len() as u64);
    assert_eq!(ledger.notes(), direct.notes());
    assert_eq!(ledger.spends(), direct.spends());
    assert_eq!(ledger.burns(), direct.burns());
    assert_eq!(ledger.block_times(), direct.block_times());
    assert_eq!(
        ledger
            .directory()
            .participant_label(&sable_compliance::audit::OwnerTag::of(
                &chain.banks[0].address()
            )),
        "Bank A"
    );
}

#[test]
fn transactions_execution_skips_are_skipped_and_the_roots_still_agree() {
    let chain = chain();
    let honest = batches(chain);
    let last = honest.last().unwrap();
    // One more block, after the chain's tip, holding only what execution skips, each
    // for one reason alone (all are built against the tip's anchor): a second spend of
    // a note already spent, a fresh payment past its expiry, a fresh payment naming a
    // regulator key of the sender's own, a fresh payment spending its note twice, and
    // a repeat of the issuance (which spends nothing). Execution applies none of them: the block moves
    // no root, and a batch settling it keeps the tip's roots.
    let spent = chain.payments[0];
    let a = &chain.banks[spent.from];
    // Block 1 holds only the issuance: its notes are the tree's first leaves.
    let issuance = chain.blocks[0].txs[0].1.clone();
    let (position, note) = issuance
        .issuances
        .iter()
        .flat_map(|i| i.full_notes())
        .enumerate()
        .find(|(_, n)| n.owner() == a.address() && n.asset() == chain.assets[spent.asset])
        .unwrap();
    let other = |i: usize| Some(chain.banks[(i + 1) % chain.banks.len()].address());
    let twice = chain.part_paying(
        a.spending_key(),
        OwnedNote {
            note,
            position: position as u64,
        },
        other(spent.from),
        1,
        &chain.regulator,
    );
    let b = &chain.banks[(spent.from + 2) % chain.banks.len()];
    let unspent = b.note_for(chain.assets[0], 1).unwrap();
    let mut expired = chain.part_paying(b.spending_key(), unspent, other(0), 1, &chain.regulator);
    expired.header.expiry_height = 0;
    // The same note paid by a sender that names a regulator key of its own.
    let hiding = chain.part_paying(
        b.spending_key(),
        unspent,
        other(0),
        1,
        &RegulatorSecretKey::random(&mut rand::rng()),
    );
    // The same note spent twice within one transaction.
    let mut doubled = chain.part_paying(b.spending_key(), unspent, other(0), 1, &chain.regulator);
    let action = doubled.parts[0].effects.actions[0].clone();
    doubled.parts[0].effects.actions.push(action);
    let sig = doubled.parts[0].spend_auth_sigs[0];
    doubled.parts[0].spend_auth_sigs.push(sig);
    let actions = doubled.parts[0].effects.actions.len();
    doubled.parts[0].proof = Proof::from_bytes(vec![0; Proof::expected_size(actions)]);
    assert!(Transaction::from_bytes(&doubled.to_bytes()).is_ok());
    let extra: Vec<Transaction> = vec![twice, expired, hiding, doubled, issuance];
    let height = last.last_block + 1;
    let mut batches = honest.clone();
    batches.push(SyntheticChain::skipped_batch(last, &extra));
    let (ledger, refused) = replay(chain, &batches);
    assert!(refused.is_none(), "{refused:?}");
    assert_eq!(ledger.height(), height);
    // The honest chain's ledger, exactly.
    let (honest, _) = replay(chain, &honest);
    assert_eq!(ledger.notes(), honest.notes());
    assert_eq!(ledger.spends(), honest.spends());
}

#[test]
fn batches_whose_data_roots_order_or_key_are_wrong_are_refused_and_apply_nothing() {
    let chain = chain();
    let honest = batches(chain);
    let refusal = |batches: &[SettledBatch]| {
        let (ledger, refused) = replay(chain, batches);
        let (n, e) = refused.expect("refused");
        (ledger.height(), n, e)
    };

    // A nullifier root that is not the chain's: refused, nothing of batch 2 applied.
    let mut wrong = honest.clone();
    wrong[1].nullifier_root[0] ^= 1;
    let (height, n, e) = refusal(&wrong);
    assert!(
        matches!(
            e,
            L1AuditError::Roots {
                root: "nullifier",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!((height, n), (honest[0].last_block, 2));
    assert!(e.to_string().contains("audit this range through a node"));

    // A note commitment root that is not the chain's.
    let mut wrong = honest.clone();
    wrong[2].commitment_root[5] ^= 1;
    let (height, n, e) = refusal(&wrong);
    assert!(
        matches!(
            e,
            L1AuditError::Roots {
                root: "note commitment",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!((height, n), (honest[1].last_block, 3));

    // A payment cut from the last block of batch 2 (its blocks still link): the
    // replayed roots are not the settled ones.
    let mut cut = honest.clone();
    let last = cut[1].last_block;
    edit_block(&mut cut[1], last, |b| {
        b.transactions.pop();
    });
    let (height, n, e) = refusal(&cut);
    assert!(matches!(e, L1AuditError::Roots { .. }), "{e}");
    assert_eq!((height, n), (honest[0].last_block, 2));

    // A block cut out of the middle: the next one no longer extends it.
    let mut cut = honest.clone();
    let first = cut[1].first_block;
    edit_block(&mut cut[1], first, |b| {
        b.transactions.clear();
    });
    let (_, n, e) = refusal(&cut);
    assert!(
        matches!(&e, L1AuditError::Batch { what, .. } if what.contains("does not extend")),
        "{e}"
    );
    assert_eq!(n, 2);

    // Out of order, or data that does not decode.
    let (_, n, e) = refusal(&[honest[1].clone()]);
    assert!(
        matches!(&e, L1AuditError::Batch { what, .. } if what.contains("expected batch 1")),
        "{e}"
    );
    assert_eq!(n, 2);
    let mut garbage = honest.clone();
    garbage[0].data = vec![1, 0xff, 0xff, 0xff, 0xff];
    let (height, _, e) = refusal(&garbage);
    assert!(
        matches!(&e, L1AuditError::Batch { what, .. } if what.contains("does not decode")),
        "{e}"
    );
    assert_eq!(height, 0);

    // The wrong key: the roots agree, the ciphertexts open to nonsense; the replay
    // stops and says so after.
    let other = SingleKey::new(RegulatorSecretKey::random(&mut rand::rng()));
    let mut replay = L1Replay::new(header().chain, chain.regulator.public_key());
    let mut ledger = AuditLedger::new();
    let mut first_error = None;
    for b in &honest {
        if let Err(e) = replay.apply_batch(&mut ledger, b, &other) {
            first_error = Some(e);
            break;
        }
    }
    assert!(
        matches!(first_error, Some(L1AuditError::Audit(_))),
        "{first_error:?}"
    );
    assert!(matches!(
        replay.apply_batch(&mut ledger, &honest[1], &key(chain)),
        Err(L1AuditError::Stopped)
    ));
}

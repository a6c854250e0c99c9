//! The regulator's ledger over real transactions (built by the participants' builder,
//! with real regulator ciphertexts; proofs are left out, since validators, not the
//! ledger, verify them): an issuance, a payment with change, a payment with a
//! withdrawal. Positions at each height, flows, the link from every spend to its note,
//! conservation of value, and the refusals: another key, a block out of order, a note
//! the ledger never saw, a note spent twice — each leaving the ledger as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, SpendInfo},
    circuit::Proof,
    keys::{Address, RegulatorPublicKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::try_decrypt_incoming,
    registry::ParticipantRegistry,
    transaction::{ChainId, Transaction, TxHeader},
    tree::CommitmentTree,
};
use sable_client::wallet::{assemble, issue, Issuer};
use sable_compliance::audit::{
    AssetTag, AuditBlock, AuditError, AuditLedger, FlowKey, Origin, OwnerTag, SingleKey,
};
use sable_primitives::block::TxId;

fn header() -> TxHeader {
    TxHeader {
        chain: ChainId::from_namespace("sable-audit-test"),
        expiry_height: 100,
        regulator: regulator().public_key(),
    }
}

/// The chain's regulator key.
fn regulator() -> RegulatorSecretKey {
    sable_testkit::genesis::test_regulator(9)
}

fn owner(a: &Address) -> OwnerTag {
    OwnerTag::of(a)
}

fn asset(id: AssetId) -> AssetTag {
    AssetTag::of(id)
}

fn id(tx: &Transaction) -> TxId {
    TxId::of(&tx.to_bytes())
}

/// The chain's trees as a wallet sees them, and the regulator's key.
struct Chain {
    tree: CommitmentTree,
    registry: ParticipantRegistry,
    regulator: RegulatorPublicKey,
}

impl Chain {
    fn append(&mut self, tx: &Transaction) -> Vec<u64> {
        tx.commitments()
            .into_iter()
            .map(|cm| self.tree.append(cm).unwrap())
            .collect()
    }

    /// `from` pays `value` of its note at `position` to `to`, keeping the change, and
    /// burns `burn` of it (to `recipient` on L1 when given).
    fn pay(
        &self,
        from: &SpendingKey,
        note: Note,
        position: u64,
        to: &Address,
        value: u64,
        withdraw: Option<(u64, [u8; 20])>,
    ) -> Transaction {
        let mut r = rand::rng();
        let fvk = from.full_viewing_key();
        let spend = SpendInfo {
            fvk: fvk.clone(),
            note,
            path: self.tree.path(position).unwrap(),
            registry: self.registry.membership(&fvk.address()).unwrap(),
            split: false,
        };
        let mut b = PartBuilder::new(self.tree.anchor(), self.registry.root(), self.regulator);
        let kept = note.value().inner() - value - withdraw.map_or(0, |(v, _)| v);
        b.add_action(
            spend.clone(),
            OutputInfo {
                recipient: *to,
                value: NoteValue(value),
                registry: self.registry.membership(to).unwrap(),
                memo: [0; 64],
            },
            &mut r,
        )
        .unwrap();
        b.add_action(
            SpendInfo {
                split: true,
                ..spend
            },
            OutputInfo {
                recipient: fvk.address(),
                value: NoteValue(kept),
                registry: self.registry.membership(&fvk.address()).unwrap(),
                memo: [0; 64],
            },
            &mut r,
        )
        .unwrap();
        if let Some((v, to)) = withdraw {
            b.add_withdrawal(note.asset(), v, to).unwrap();
        }
        let part = b
            .build(&mut r)
            .unwrap()
            .with_unchecked_proof(Proof::from_bytes(vec![]));
        assemble(header(), vec![(part, from)]).unwrap()
    }
}

#[test]
fn the_ledger_accounts_for_every_note_spend_and_burn_and_refuses_what_does_not_fit() {
    let mut r = rand::rng();
    let sk_reg = regulator();
    let key = SingleKey::new(RegulatorSecretKey::from_bytes(&sk_reg.to_bytes()).unwrap());
    let (a, b) = (SpendingKey::random(&mut r), SpendingKey::random(&mut r));
    let (addr_a, addr_b) = (
        a.full_viewing_key().address(),
        b.full_viewing_key().address(),
    );
    let mut registry = ParticipantRegistry::new();
    registry
        .add(&addr_a, a.full_viewing_key().epoch_schedule())
        .unwrap();
    registry
        .add(&addr_b, b.full_viewing_key().epoch_schedule())
        .unwrap();
    let mut chain = Chain {
        tree: CommitmentTree::new(),
        registry,
        regulator: sk_reg.public_key(),
    };
    let issuer = Issuer::random();
    let usd = issuer.asset("USD");
    let mut ledger = AuditLedger::new();

    // Block 1: 1,000 USD issued to A.
    let (issuance, notes) = issue(header(), &[(&issuer, "USD", &[(addr_a, 1_000)])]);
    let positions = chain.append(&issuance);
    ledger
        .apply_block(AuditBlock::new(1, [(id(&issuance), &issuance)]), &key)
        .unwrap();

    // Block 2: A pays B 300 and keeps 700.
    let payment = chain.pay(&a, notes[0], positions[0], &addr_b, 300, None);
    let paid_positions = chain.append(&payment);

    // Another key is not the one the payment names: refused by name, never tried.
    let wrong = SingleKey::new(RegulatorSecretKey::random(&mut r));
    let refused = ledger.apply_block(AuditBlock::new(2, [(id(&payment), &payment)]), &wrong);
    assert!(
        matches!(&refused, Err(AuditError::KeyNotHeld { tx, .. }) if *tx == id(&payment)),
        "{refused:?}"
    );
    assert_eq!(ledger.height(), 1);
    assert_eq!(ledger.spends().len(), 0);

    ledger
        .apply_block(AuditBlock::new(2, [(id(&payment), &payment)]), &key)
        .unwrap();
    let issued = ledger.note(&notes[0].commitment().to_bytes()).unwrap();
    assert_eq!(
        (issued.origin, issued.value, issued.owner, issued.spent),
        (
            Origin::Issuance,
            1_000,
            owner(&addr_a),
            Some((id(&payment), 2))
        )
    );
    // Both spends name A's note; only the first consumes it (the second is the split
    // that proves A owns the change's asset).
    let spends: Vec<_> = ledger.spends().iter().map(|s| (s.note, s.value)).collect();
    let cm = notes[0].commitment().to_bytes();
    assert_eq!(spends, vec![(cm, 1_000), (cm, 0)]);
    assert_eq!(
        ledger.positions_at(1),
        BTreeMap::from([((owner(&addr_a), asset(usd)), 1_000)])
    );
    assert_eq!(
        ledger.positions_at(2),
        BTreeMap::from([
            ((owner(&addr_a), asset(usd)), 700),
            ((owner(&addr_b), asset(usd)), 300)
        ])
    );
    assert_eq!(
        ledger.flows(1, 2),
        BTreeMap::from([(
            FlowKey {
                from: owner(&addr_a),
                to: owner(&addr_b),
                asset: asset(usd)
            },
            300
        )])
    );

    // A block at a height already applied is refused.
    assert_eq!(
        ledger.apply_block(AuditBlock::new(2, [(id(&payment), &payment)]), &key),
        Err(AuditError::OutOfOrder {
            height: 2,
            applied: 2
        })
    );

    // Block 3: B sends 50 back to A and withdraws 100 to an Ethereum address.
    let b_full = decrypt_own(&payment, &b, 0);
    let back = chain.pay(
        &b,
        b_full,
        paid_positions[0],
        &addr_a,
        50,
        Some((100, [0x5a; 20])),
    );
    chain.append(&back);
    ledger
        .apply_block(AuditBlock::new(3, [(id(&back), &back)]), &key)
        .unwrap();
    let burns = ledger.burns();
    assert_eq!(burns.len(), 1);
    assert_eq!(
        (burns[0].value, burns[0].by, burns[0].recipient),
        (100, owner(&addr_b), Some([0x5a; 20]))
    );
    assert_eq!(
        ledger.positions_at(3),
        BTreeMap::from([
            ((owner(&addr_a), asset(usd)), 750),
            ((owner(&addr_b), asset(usd)), 150)
        ])
    );
    // Every unit issued is held or burnt.
    let held: u128 = ledger.positions_at(3).values().sum();
    assert_eq!(held + 100, 1_000);

    // Spending B's consumed note again (a chain no validator would make) is refused,
    // and so is a spend of a note the ledger never saw; neither leaves a trace.
    let replay = chain.pay(&b, b_full, paid_positions[0], &addr_a, 10, None);
    let before = (ledger.notes().len(), ledger.spends().len());
    assert!(matches!(
        ledger.apply_block(AuditBlock::new(4, [(id(&replay), &replay)]), &key),
        Err(AuditError::DoubleSpend { first, .. }) if first == id(&back)
    ));
    let mut fresh = AuditLedger::new();
    assert!(matches!(
        fresh.apply_block(AuditBlock::new(1, [(id(&back), &back)]), &key),
        Err(AuditError::UnknownNote { .. })
    ));
    assert_eq!((ledger.notes().len(), ledger.spends().len()), before);
    assert_eq!(fresh.notes().len(), 0);
}

/// Output `i` of `tx`'s first part, decrypted by its recipient `sk`.
fn decrypt_own(tx: &Transaction, sk: &SpendingKey, i: usize) -> Note {
    let ivk = sk.full_viewing_key().incoming_viewing_key();
    let action = &tx.parts[0].effects.actions[i];
    try_decrypt_incoming(&ivk, &action.encrypted_note, &action.cm_new)
        .expect("the recipient decrypts its note")
        .0
}

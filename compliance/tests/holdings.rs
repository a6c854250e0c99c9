//! Proofs of holdings as packages, over a generated workload: each bank's replay with
//! its full viewing key holds exactly what the regulator's ledger says it holds at any
//! height; a bank proves it held at least `X` of an asset at a height to a named third
//! party, who checks the package against the roots settled on L1 and accepts it once.
//! Every alteration, a package for someone else, of another chain, expired, at a height
//! whose roots the verifier does not know, shown twice, or counting notes already
//! pledged for the same statement is refused with its reason, and nothing refused is
//! recorded.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use ff::PrimeField;
use sable_circuits::{
    holdings::{HoldingsProvingKey, HoldingsVerifyingKey},
    keys::{FullViewingKey, RegulatorSecretKey},
};
use sable_compliance::{
    audit::{scan::ReadBlock, AssetTag, AuditLedger, OwnerTag, SingleKey},
    holdings::{
        ChainRoots, HoldingsAddressing, HoldingsFacts, HoldingsPackage, HoldingsPackageError,
        HoldingsScan, HoldingsSnapshot, HoldingsVerifier,
    },
    recipient::SeenRecord,
};
use sable_primitives::published::SettledBatch;
use sable_testkit::synthetic::{SyntheticChain, Workload};

const CHAIN: [u8; 32] = [7; 32];
const CCP: &str = "CCP Alpha, margin desk";
const PURPOSE: &str = "initial margin, account 0412";
const THRESHOLD: u64 = 500_000;

struct World {
    chain: SyntheticChain,
    /// One batch per block: the roots after every block are on L1.
    batches: Vec<SettledBatch>,
    pk: HoldingsProvingKey,
    vk: HoldingsVerifyingKey,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let chain = SyntheticChain::generate(Workload {
            banks: 4,
            assets: 2,
            payments: 60,
            withdrawal_every: 10,
            ..Workload::default()
        });
        World {
            batches: chain.batches(1),
            chain,
            pk: HoldingsProvingKey::build(),
            vk: HoldingsVerifyingKey::build(),
        }
    })
}

fn read_blocks(chain: &SyntheticChain) -> Vec<ReadBlock> {
    chain
        .blocks
        .iter()
        .map(|b| ReadBlock {
            height: b.height,
            timestamp_ms: b.timestamp_ms,
            txs: b.txs.clone(),
            admin: b.admin.clone(),
        })
        .collect()
}

fn roots_at(w: &World, height: u64) -> ChainRoots {
    let b = w.batches.iter().find(|b| b.last_block == height).unwrap();
    ChainRoots::from_bytes(&b.commitment_root, &b.nullifier_root).unwrap()
}

fn fvk(w: &World, bank: usize) -> FullViewingKey {
    w.chain.banks[bank].spending_key().full_viewing_key()
}

fn snapshot(w: &World, bank: usize, height: u64) -> HoldingsSnapshot {
    let mut scan = HoldingsScan::new(fvk(w, bank));
    for b in read_blocks(&w.chain).iter().take(height as usize) {
        scan.apply_block(b).unwrap();
    }
    scan.finish(&roots_at(w, height)).unwrap()
}

fn tip(w: &World) -> u64 {
    w.chain.blocks.last().unwrap().height
}

fn addressing(height: u64, threshold: u64, purpose: &str, audience: &str) -> HoldingsAddressing {
    HoldingsAddressing {
        chain: CHAIN,
        height,
        asset: world().chain.assets[0],
        threshold,
        purpose: purpose.into(),
        audience: audience.into(),
        nonce: rand::random(),
        expires_at: height + 100,
    }
}

fn facts(w: &World, height: u64) -> HoldingsFacts {
    let upto: Vec<_> = w
        .batches
        .iter()
        .filter(|b| b.last_block <= tip(w))
        .cloned()
        .collect();
    HoldingsFacts::settled(CHAIN, &upto, height).unwrap()
}

fn verifier<'a>(w: &'a World, name: &str, dir: &tempfile::TempDir) -> HoldingsVerifier<'a> {
    let seen = SeenRecord::open(&dir.path().join(format!("{name}.seen"))).unwrap();
    HoldingsVerifier::new(&w.vk, name, seen)
}

/// The package bank 0 makes at the tip for `threshold` of asset 0 to `audience`.
fn package(
    snap: &HoldingsSnapshot,
    threshold: u64,
    purpose: &str,
    audience: &str,
) -> HoldingsPackage {
    let w = world();
    let a = addressing(snap.height(), threshold, purpose, audience);
    HoldingsPackage::create(&w.pk, &fvk(w, 0), snap, a, rand::rng()).unwrap()
}

/// One honest package, made once for the tests that alter or re-present it.
fn honest() -> &'static (HoldingsPackage, u128) {
    static P: OnceLock<(HoldingsPackage, u128)> = OnceLock::new();
    P.get_or_init(|| {
        let w = world();
        let snap = snapshot(w, 0, tip(w));
        let balance = snap.balance(w.chain.assets[0]);
        (package(&snap, THRESHOLD, PURPOSE, CCP), balance)
    })
}

#[test]
fn each_banks_replay_holds_what_the_regulators_ledger_says_at_every_height() {
    let w = world();
    let key =
        SingleKey::new(RegulatorSecretKey::from_bytes(&w.chain.regulator.to_bytes()).unwrap());
    let mut ledger = AuditLedger::new();
    let blocks = read_blocks(&w.chain);
    let mut scans: Vec<_> = (0..w.chain.banks.len())
        .map(|b| HoldingsScan::new(fvk(w, b)))
        .collect();
    let mut spent_somewhere = false;
    for block in &blocks {
        ledger.apply_block(block.audit_block(), &key).unwrap();
        let positions = ledger.positions_at(block.height);
        for (b, scan) in scans.iter_mut().enumerate() {
            scan.apply_block(block).unwrap();
            // A snapshot at this height, checked against the settled roots.
            let mut copy = HoldingsScan::new(fvk(w, b));
            for earlier in &blocks[..block.height as usize] {
                copy.apply_block(earlier).unwrap();
            }
            let snap = copy.finish(&roots_at(w, block.height)).unwrap();
            for asset in &w.chain.assets {
                let owner = OwnerTag::of(&w.chain.banks[b].address());
                let held = positions
                    .get(&(owner, AssetTag::of(*asset)))
                    .copied()
                    .unwrap_or(0);
                assert_eq!(snap.balance(*asset), held, "bank {b} at {}", block.height);
                let unspent = snap.unspent(*asset);
                assert!(unspent.windows(2).all(|p| p[0].0.value() >= p[1].0.value()));
            }
        }
        spent_somewhere |= block
            .txs
            .iter()
            .any(|(_, tx)| tx.nullifiers().next().is_some());
        if block.height >= 12 {
            break;
        }
    }
    assert!(
        spent_somewhere,
        "the workload spends notes in its first blocks"
    );
}

#[test]
fn a_bank_proves_it_held_at_least_x_and_the_verifier_accepts_it_once() {
    let w = world();
    let (p, balance) = honest();
    assert!(*balance >= u128::from(THRESHOLD), "bank 0 holds {balance}");
    assert!(p.notes_counted() >= 1);
    // Through the file format and back.
    let p = HoldingsPackage::from_json(&p.to_json()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ccp = verifier(w, CCP, &dir);
    ccp.accept(&p, &facts(w, tip(w))).unwrap();
    assert_eq!(ccp.seen().len(), 1 + p.notes_counted());
    // Shown again, to this verifier or after a restart.
    assert_eq!(
        ccp.accept(&p, &facts(w, tip(w))),
        Err(HoldingsPackageError::Replayed {
            nonce: hex::encode(p.addressing.nonce)
        })
    );
    let mut reopened = verifier(w, CCP, &dir);
    assert!(matches!(
        reopened.accept(&p, &facts(w, tip(w))),
        Err(HoldingsPackageError::Replayed { .. })
    ));
    assert_eq!(reopened.seen().len(), 1 + p.notes_counted());
}

#[test]
fn the_same_notes_pledged_twice_for_one_statement_show_and_are_refused() {
    let w = world();
    let snap = snapshot(w, 0, tip(w));
    let dir = tempfile::tempdir().unwrap();
    let mut ccp = verifier(w, CCP, &dir);
    let (first, _) = honest();
    ccp.accept(first, &facts(w, tip(w))).unwrap();
    // A second package for the same purpose, a fresh nonce: the same largest notes.
    let again = package(&snap, THRESHOLD, PURPOSE, CCP);
    let before = ccp.seen().len();
    assert!(matches!(
        ccp.accept(&again, &facts(w, tip(w))),
        Err(HoldingsPackageError::Pledged { .. })
    ));
    assert_eq!(ccp.seen().len(), before, "nothing refused is recorded");
    // To another audience it is accepted there, and its tags equal the first's: whoever
    // compares the two sees the same notes behind one statement.
    let other = package(&snap, THRESHOLD, PURPOSE, "CCP Beta");
    verifier(w, "CCP Beta", &dir)
        .accept(&other, &facts(w, tip(w)))
        .unwrap();
    assert_eq!(other.tags, first.tags);
    // For another purpose, the same notes show unrelated tags.
    let elsewhere = package(&snap, THRESHOLD, "variation margin", CCP);
    assert!(elsewhere
        .tags
        .iter()
        .all(|t| !first.tags.contains(t) || bool::from(ff::Field::is_zero(t))));
    ccp.accept(&elsewhere, &facts(w, tip(w))).unwrap();
}

fn edited(p: &HoldingsPackage, field: &str, value: serde_json::Value) -> HoldingsPackage {
    let mut json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    json[field] = value;
    HoldingsPackage::from_json(&json.to_string()).unwrap()
}

#[test]
fn an_altered_package_is_refused_by_name_and_nothing_is_recorded() {
    let w = world();
    let (p, _) = honest();
    let dir = tempfile::tempdir().unwrap();
    let mut ccp = verifier(w, CCP, &dir);
    let f = facts(w, tip(w));
    let other_bank = hex::encode(w.chain.banks[1].address().to_bytes());
    let mut tag = p.tags[0];
    tag += pasta_curves::pallas::Base::one();
    let forged = [
        edited(p, "threshold", (p.addressing.threshold + 1).into()),
        edited(p, "purpose", "something else".into()),
        edited(p, "nonce", hex::encode([9u8; 32]).into()),
        edited(p, "expires_at", (p.addressing.expires_at + 1).into()),
        edited(p, "asset", hex::encode(w.chain.assets[1].0).into()),
        edited(p, "owner", other_bank.into()),
        edited(
            p,
            "tags",
            serde_json::json!([
                hex::encode(tag.to_repr()),
                hex::encode(p.tags[1].to_repr()),
                hex::encode(p.tags[2].to_repr()),
                hex::encode(p.tags[3].to_repr())
            ]),
        ),
    ];
    for (i, q) in forged.iter().enumerate() {
        assert_eq!(
            ccp.accept(q, &f),
            Err(HoldingsPackageError::Forged),
            "edit {i}"
        );
    }
    // Re-addressed: refused by its new audience as forged.
    let readdressed = edited(p, "audience", "CCP Beta".into());
    assert_eq!(
        verifier(w, "CCP Beta", &dir).accept(&readdressed, &f),
        Err(HoldingsPackageError::Forged)
    );
    // Moved to another height: the roots there are not the package's.
    let moved = edited(p, "height", (tip(w) - 1).into());
    assert_eq!(
        ccp.accept(&moved, &facts(w, tip(w) - 1)),
        Err(HoldingsPackageError::OtherRoots {
            height: tip(w) - 1,
            root: "note commitment"
        })
    );
    // Roots that are not the chain's at the height.
    let earlier = roots_at(w, tip(w) - 1);
    let mut stale = p.clone();
    stale.roots.nullifier_root = earlier.nullifier_root;
    assert_eq!(
        ccp.accept(&stale, &f),
        Err(HoldingsPackageError::OtherRoots {
            height: tip(w),
            root: "nullifier"
        })
    );
    assert!(ccp.seen().is_empty());
    ccp.accept(p, &f).unwrap();
}

#[test]
fn a_package_for_someone_else_of_another_chain_expired_or_unsettled_is_refused() {
    let w = world();
    let (p, _) = honest();
    let dir = tempfile::tempdir().unwrap();
    let mut ccp = verifier(w, CCP, &dir);
    assert_eq!(
        verifier(w, "CCP Beta", &dir).accept(p, &facts(w, tip(w))),
        Err(HoldingsPackageError::NotForYou {
            to: CCP.into(),
            you: "CCP Beta".into()
        })
    );
    let mut other = facts(w, tip(w));
    other.chain = [8; 32];
    assert!(matches!(
        ccp.accept(p, &other),
        Err(HoldingsPackageError::OtherChain { .. })
    ));
    let mut later = facts(w, tip(w));
    later.height = p.addressing.expires_at + 1;
    assert!(matches!(
        ccp.accept(p, &later),
        Err(HoldingsPackageError::Expired { .. })
    ));
    // Batches of two blocks: the tip's roots are on L1 only if a batch ends there.
    let pairs = w.chain.batches(2);
    let ends_before = pairs.iter().rev().find(|b| b.last_block < tip(w)).unwrap();
    let unsettled = HoldingsFacts {
        height: tip(w),
        ..HoldingsFacts::settled(CHAIN, std::slice::from_ref(ends_before), tip(w)).unwrap()
    };
    assert_eq!(
        ccp.accept(p, &unsettled),
        Err(HoldingsPackageError::NoRoots { height: tip(w) })
    );
    assert!(ccp.seen().is_empty());
}

#[test]
fn a_bank_cannot_prove_more_than_it_holds_and_a_bad_replay_is_named() {
    let w = world();
    let snap = snapshot(w, 0, tip(w));
    let asset = w.chain.assets[0];
    let top: u128 = snap
        .unspent(asset)
        .iter()
        .take(4)
        .map(|(n, _)| u128::from(n.value().inner()))
        .sum();
    let a = addressing(tip(w), u64::try_from(top).unwrap() + 1, PURPOSE, CCP);
    assert!(matches!(
        HoldingsPackage::create(&w.pk, &fvk(w, 0), &snap, a, rand::rng()),
        Err(HoldingsPackageError::NotEnough { held, .. }) if held == top
    ));
    // A bank with no notes of the asset proves nothing.
    let stranger = sable_circuits::keys::SpendingKey::random(&mut rand::rng()).full_viewing_key();
    let mut scan = HoldingsScan::new(stranger.clone());
    for b in &read_blocks(&w.chain) {
        scan.apply_block(b).unwrap();
    }
    let empty = scan.finish(&roots_at(w, tip(w))).unwrap();
    assert!(matches!(
        HoldingsPackage::create(
            &w.pk,
            &stranger,
            &empty,
            addressing(tip(w), 1, PURPOSE, CCP),
            rand::rng()
        ),
        Err(HoldingsPackageError::NotEnough { notes: 0, .. })
    ));
    // Addressing about another height than the replay's, a zero threshold, no purpose.
    for (a, what) in [
        (addressing(tip(w) - 1, 1, PURPOSE, CCP), "height"),
        (addressing(tip(w), 0, PURPOSE, CCP), "threshold"),
        (addressing(tip(w), 1, "", CCP), "purpose"),
        (addressing(tip(w), 1, PURPOSE, ""), "audience"),
    ] {
        assert!(
            matches!(
                HoldingsPackage::create(&w.pk, &fvk(w, 0), &snap, a, rand::rng()),
                Err(HoldingsPackageError::Malformed(m)) if m.contains(what)
            ),
            "{what}"
        );
    }
    // A block skipped, or roots that are not the replay's.
    let blocks = read_blocks(&w.chain);
    let mut scan = HoldingsScan::new(fvk(w, 0));
    scan.apply_block(&blocks[0]).unwrap();
    assert!(matches!(
        scan.apply_block(&blocks[2]),
        Err(HoldingsPackageError::Replay(_))
    ));
    assert_eq!(scan.height(), 1);
    scan.apply_block(&blocks[1]).unwrap();
    // A block spending again what an earlier one spent changes nothing.
    let k = blocks
        .iter()
        .position(|b| b.txs.iter().any(|(_, tx)| tx.nullifiers().next().is_some()))
        .unwrap();
    let mut replayed = HoldingsScan::new(fvk(w, 0));
    for b in &blocks[..=k] {
        replayed.apply_block(b).unwrap();
    }
    let again = ReadBlock {
        height: blocks[k].height + 1,
        timestamp_ms: blocks[k].timestamp_ms,
        txs: blocks[k].txs.clone(),
        admin: Vec::new(),
    };
    assert!(matches!(
        replayed.apply_block(&again),
        Err(HoldingsPackageError::Replay(m)) if m.contains(&format!("block {}", again.height))
    ));
    assert_eq!(replayed.height(), blocks[k].height);
    for b in &blocks[k + 1..] {
        replayed.apply_block(b).unwrap();
    }
    replayed.finish(&roots_at(w, tip(w))).unwrap();
    assert!(matches!(
        scan.finish(&roots_at(w, 1)),
        Err(HoldingsPackageError::Rebuilt { height: 2, .. })
    ));
}

#[test]
fn malformed_packages_are_refused_by_name() {
    let (p, _) = honest();
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    let with = |field: &str, value: serde_json::Value| {
        let mut j = json.clone();
        j[field] = value;
        HoldingsPackage::from_json(&j.to_string())
    };
    let zero = hex::encode([0u8; 32]);
    let t0 = hex::encode(p.tags[0].to_repr());
    let cases = [
        (with("version", 2.into()), "version"),
        (with("tags", serde_json::json!([t0])), "tags"),
        (
            with("tags", serde_json::json!([t0, t0, zero, zero])),
            "tags",
        ),
        (
            with("tags", serde_json::json!([zero, zero, zero, zero])),
            "tags",
        ),
        (
            with(
                "tags",
                serde_json::json!(["ff".repeat(32), zero, zero, zero]),
            ),
            "tag",
        ),
        (with("proof", "00".into()), "proof"),
        (with("threshold", 0.into()), "threshold"),
        (with("purpose", "".into()), "purpose"),
        (with("nonce", "xyz".into()), "nonce"),
        (with("owner", zero.clone().into()), "owner"),
        (with("unknown", 1.into()), "unknown"),
    ];
    for (i, (result, what)) in cases.into_iter().enumerate() {
        assert!(
            matches!(&result, Err(HoldingsPackageError::Malformed(m)) if m.contains(what)),
            "case {i}: {result:?}"
        );
    }
    assert!(matches!(
        HoldingsPackage::from_json("{"),
        Err(HoldingsPackageError::Malformed(_))
    ));
}

//! The cost of a proof of holdings: proving that one owner's notes (one, or the most a
//! proof counts) hold at least a threshold of an asset, unspent at a height, and
//! verifying the proof, against proving one 2-action payment in the same run on the
//! same cores.
//!
//! ```text
//! cargo run --release -p sable-bench --bin holdings -- --reps 5 --spent 10000
//! ```
//!
//! The nullifier set holds `--spent` random nullifiers, so the witnesses of absence are
//! as deep as on a chain that old (the proof's cost does not depend on it: every path
//! has the tree's full depth). The three proofs alternate, `--reps` times each; the
//! table gives the median and the spread (min–max) of each.

use std::time::Instant;

use anyhow::{anyhow, Result};
use pasta_curves::{group::ff::Field, pallas};
use rand::{rand_core::UnwrapErr, rngs::SysRng};
use sable_bench::{arg, print_median, Transfer};
use sable_circuits::{
    asset::AssetId,
    circuit::ProvingKey,
    holdings::{
        self, HeldNote, HoldingsProvingKey, HoldingsQuery, HoldingsVerifyingKey, HOLDINGS_NOTES,
    },
    keys::SpendingKey,
    note::{Note, NoteValue},
    nullifier_tree::NullifierTree,
    tree::CommitmentTree,
};

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let reps: usize = arg("--reps", 5).max(1);
    let spent: usize = arg("--spent", 10_000);
    let mut rng = UnwrapErr(SysRng);

    let t = Instant::now();
    let pk = HoldingsProvingKey::build();
    let vk = HoldingsVerifyingKey::build();
    let holdings_keys = ms(t);
    let t = Instant::now();
    let action_pk = ProvingKey::build();
    let action_keys = ms(t);
    let transfer = Transfer::new(&mut rng)?;

    // One owner's USD notes in the note tree; a nullifier set of `spent` others.
    let sk = SpendingKey::random(&mut rng);
    let fvk = sk.full_viewing_key();
    let usd = AssetId::from_name("USD");
    let mut tree = CommitmentTree::new();
    let notes: Vec<(Note, u64)> = (0..HOLDINGS_NOTES as u64)
        .map(|i| {
            let n = Note::new(usd, NoteValue(1_000 + i), fvk.address(), &mut rng);
            Ok((n, tree.append(n.commitment())?))
        })
        .collect::<Result<_>>()?;
    let mut nfs = NullifierTree::new();
    let others: Vec<_> = (0..spent)
        .map(|_| pallas::Base::random(&mut rand::rng()))
        .collect();
    nfs.insert(&others).map_err(|e| anyhow!("{e}"))?;
    let held: Vec<HeldNote> = notes
        .iter()
        .map(|(note, pos)| {
            let nf = note.nullifier(fvk.nk(), *pos).inner();
            Ok(HeldNote {
                note: *note,
                position: *pos,
                path: tree.path(*pos)?,
                absence: nfs.non_membership(&nf)?,
            })
        })
        .collect::<Result<_>>()?;

    let query = HoldingsQuery {
        anchor: tree.anchor(),
        nullifier_root: nfs.root(),
        asset: usd,
        threshold: 1_000,
        statement: pallas::Base::from(1),
        binding: pallas::Base::from(2),
    };
    let (mut one, mut all, mut check, mut payment) = (vec![], vec![], vec![], vec![]);
    let mut size = 0;
    for _ in 0..reps {
        for (count, times) in [(1, &mut one), (HOLDINGS_NOTES, &mut all)] {
            let t = Instant::now();
            let (claim, proof) = holdings::prove(&pk, &fvk, &held[..count], &query, rand::rng())?;
            times.push(ms(t));
            size = proof.as_bytes().len();
            let t = Instant::now();
            holdings::verify(&vk, &claim, &proof)?;
            check.push(ms(t));
        }
        let t = Instant::now();
        transfer.part(&mut rng)?.prove(&action_pk, &mut rng)?;
        payment.push(ms(t));
    }

    println!("{reps} repetitions of each, alternating; nullifier set of {spent}; median (min–max)");
    println!(
        "{:<44} {holdings_keys:>10.1} ms",
        "holdings keys (proving + verifying)"
    );
    println!(
        "{:<44} {action_keys:>10.1} ms",
        "action proving key (reference)"
    );
    let p1 = print_median("prove holdings, 1 note", one, 1);
    let p4 = print_median(&format!("prove holdings, {HOLDINGS_NOTES} notes"), all, 1);
    let v = print_median("verify a proof of holdings", check, 1);
    let a = print_median("prove a 2-action payment (reference)", payment, 1);
    println!("{:<44} {size:>10} bytes", "proof of holdings size");
    println!("holdings proof / payment proof time: {:.2} (1 note and {HOLDINGS_NOTES} notes alike: {:.2})", p1 / a, p4 / a);
    println!("verify / holdings proof time: {:.3}", v / p1);
    Ok(())
}
